import test from 'ava';
import {
  decodeMainStream,
  decodeMultifdChannel,
  decodeReturnPath,
  encodeMainStream,
  encodeMultifdRecord,
  encodeReturnPathRecord,
  MultifdPageDecoder,
  type MainRecord,
} from '../src/index.js';
import { captureChannels, sharedCaptures } from './paths.js';

const captures = sharedCaptures();
/** Tests that need the shared captures skip without them (sharedCaptures() throws under CI). */
const withCaptures = captures.length ? test : test.skip;

test('the shared captures are there to test against', (t) => {
  if (process.env['CI'] === 'true') t.true(captures.length >= 4);
  else t.pass();
});

for (const name of captures) {
  for (const ch of captureChannels(name)) {
    test(`${name} ${ch.file}: decodes to the end and re-encodes byte for byte`, (t) => {
      const b = ch.bytes;
      const magic = b.readUInt32BE(0);
      let encoded: Buffer;
      if (ch.direction === 'dst2src') {
        const { records, error } = decodeReturnPath(b);
        t.is(error, undefined, error?.message);
        t.true(records.length > 0);
        encoded = Buffer.concat(records.map((r) => encodeReturnPathRecord(r)));
      } else if (magic === 0x5145564d) {
        const { records, error } = decodeMainStream(b);
        t.is(error, undefined, error?.message);
        t.is(records[0]?.kind, 'header');
        t.true(records.some((r) => r.kind === 'eof'));
        encoded = Buffer.from(encodeMainStream(records));
      } else if (magic === 0x11223344) {
        const { records, error } = decodeMultifdChannel(b);
        t.is(error, undefined, error?.message);
        t.is(records[0]?.kind, 'multifd-init');
        encoded = Buffer.concat(records.map((r) => encodeMultifdRecord(r)));
      } else {
        // postcopy-preempt: bare RAM page records, no header, no EOS.
        const { records, error } = decodeMainStream(b, { start: 'ram', channel: 'postcopy-preempt' });
        t.is(error, undefined, error?.message);
        t.true(records.every((r) => r.kind === 'ram-page' || r.kind === 'ram-zero'));
        encoded = Buffer.from(encodeMainStream(records));
      }
      t.true(encoded.equals(b), 'round trip differs');
    });
  }
}

test('multifd pages decompress to exactly the announced page data on every channel', (t) => {
  let checked = 0;
  for (const name of captures) {
    for (const ch of captureChannels(name)) {
      if (ch.bytes.readUInt32BE(0) !== 0x11223344 || ch.direction !== 'src2dst') continue;
      const { records } = decodeMultifdChannel(ch.bytes);
      const pages = new MultifdPageDecoder();
      let normal = 0;
      for (const r of records) if (r.kind === 'multifd-packet') normal += pages.pages(r).length;
      const announced = records.reduce((n, r) => n + (r.kind === 'multifd-packet' ? r.normalPages : 0), 0);
      t.is(normal, announced);
      t.true(normal > 0);
      checked++;
    }
  }
  if (captures.length) t.true(checked >= 12);
  else t.pass();
});

withCaptures('10.0 multifd: every channel has as many SYNCs as main has MULTIFD_FLUSH records', (t) => {
  for (const name of captures.filter((n) => n.startsWith('10.0-c'))) {
    const chans = captureChannels(name);
    const main = decodeMainStream(chans.find((c) => c.file === 'conn00.src2dst.bin')!.bytes).records;
    const flushes = main.filter((r) => r.kind === 'ram-multifd-flush').length;
    t.true(flushes > 0);
    for (const ch of chans.filter((c) => c.bytes.readUInt32BE(0) === 0x11223344)) {
      const syncs = decodeMultifdChannel(ch.bytes).records.filter((r) => r.kind === 'multifd-packet' && r.sync).length;
      t.is(syncs, flushes, `${name} ${ch.file}`);
    }
  }
});

withCaptures('multifd channel ids come from the init message, not the accept order', (t) => {
  for (const name of captures.filter((n) => n.includes('multifd'))) {
    const ids = captureChannels(name)
      .filter((c) => c.bytes.readUInt32BE(0) === 0x11223344)
      .map((c) => {
        const r = decodeMultifdChannel(c.bytes).records[0];
        return r?.kind === 'multifd-init' ? r.channelId : -1;
      });
    t.deepEqual([...ids].sort(), [0, 1, 2, 3], name);
  }
});

withCaptures('the 7.2 and 10.0 packet layouts are told apart from the bytes alone', (t) => {
  for (const name of captures.filter((n) => n.includes('multifd'))) {
    const ch = captureChannels(name).find((c) => c.bytes.readUInt32BE(0) === 0x11223344)!;
    const layouts = new Set(decodeMultifdChannel(ch.bytes).records.flatMap((r) => (r.kind === 'multifd-packet' ? [r.layout] : [])));
    t.deepEqual([...layouts], [name.startsWith('7.2') ? '7.2' : '10.0'], name);
  }
});

test('postcopy capture: commands, PACKAGED nested stream and return path decode by name', (t) => {
  const name = captures.find((n) => n.includes('postcopy'));
  if (!name) return t.pass();
  const chans = captureChannels(name);
  const main = decodeMainStream(chans.find((c) => c.file === 'conn00.src2dst.bin')!.bytes).records;
  const cmds = main.filter((r): r is Extract<MainRecord, { kind: 'command' }> => r.kind === 'command').map((r) => r.name);
  for (const c of ['OPEN_RETURN_PATH', 'PING', 'POSTCOPY_ADVISE', 'POSTCOPY_RAM_DISCARD', 'PACKAGED', 'POSTCOPY_LISTEN', 'POSTCOPY_RUN']) t.true(cmds.includes(c), c);
  const nested = main.filter((r) => r.depth === 1);
  t.true(nested.some((r) => r.kind === 'command' && r.name === 'POSTCOPY_RUN'));
  t.true(nested.some((r) => r.kind === 'device-state'));
  t.false(main.some((r) => r.kind === 'vmdescription'), 'postcopy streams carry no vmdesc');
  const rp = decodeReturnPath(chans.find((c) => c.file === 'conn00.dst2src.bin')!.bytes).records;
  const names = new Set(rp.map((r) => (r.kind === 'rp-message' ? r.name : r.kind)));
  for (const n of ['PONG', 'REQ_PAGES_ID', 'REQ_PAGES', 'SHUT']) t.true(names.has(n), n);
});

withCaptures('device sections decode field by field with the stream’s own VMDESCRIPTION', (t) => {
  for (const name of captures.filter((n) => !n.includes('postcopy'))) {
    const b = captureChannels(name).find((c) => c.file === 'conn00.src2dst.bin')!.bytes;
    const first = decodeMainStream(b).records;
    const vmdesc = first.find((r) => r.kind === 'vmdescription');
    t.truthy(vmdesc, name);
    const { records } = decodeMainStream(b, { vmdesc: (vmdesc as unknown as { description: never }).description });
    const devices = records.filter((r): r is Extract<MainRecord, { kind: 'device-state' }> => r.kind === 'device-state');
    t.true(devices.length >= 20);
    for (const d of devices) {
      t.truthy(d.vmstate, `${name} ${d.idstr}`);
      t.is(d.vmstate?.consumed, d.data.length, `${name} ${d.idstr}: the description accounts for every byte`);
    }
    const timer = devices.find((d) => d.idstr === 'timer');
    t.deepEqual(timer?.vmstate?.fields.map((f) => f.name), ['cpu_ticks_offset', 'unused', 'cpu_clock_offset']);
  }
});
