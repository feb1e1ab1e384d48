import test from 'ava';
import { decodeMainStream, encodeMainStream, MainStreamDecoder, MultifdDecoder, ReturnPathDecoder, type MainRecord } from '../src/index.js';
import { feed, fingerprint, firstDifference, rng } from './feed.js';
import { captureChannels, sharedCaptures } from './paths.js';
import { SYNTHETIC_VMDESC, syntheticStream } from './synthetic.js';

const synthetic = syntheticStream();
const whole = decodeMainStream(synthetic);

test('the synthetic stream covers every record type and command, and round-trips', (t) => {
  t.is(whole.error, undefined, whole.error?.message);
  const kinds = new Set(whole.records.map((r) => r.kind));
  for (const k of ['header', 'configuration', 'section', 'footer', 'eof', 'vmdescription', 'command', 'ram-mem-size', 'ram-block', 'ram-page', 'ram-zero', 'ram-xbzrle', 'ram-eos', 'ram-multifd-flush', 'ram-hook', 'device-state']) {
    t.true(kinds.has(k as MainRecord['kind']), k);
  }
  const cmds = new Set(whole.records.flatMap((r) => (r.kind === 'command' ? [r.command] : [])));
  t.deepEqual([...cmds].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  t.true(Buffer.from(encodeMainStream(whole.records)).equals(synthetic));
});

test('every split point of the synthetic stream gives the same records', (t) => {
  const expected = fingerprint(whole.records);
  for (let cut = 1; cut < synthetic.length; cut++) {
    const r = feed(new MainStreamDecoder(), synthetic, (i) => (i === 0 ? cut : synthetic.length));
    const diff = r.error ? r.error.message : firstDifference(fingerprint(r.records), expected);
    if (diff) return t.fail(`split at ${cut}: ${diff}`);
  }
  t.pass();
});

test('one byte at a time gives the same records', (t) => {
  const r = feed(new MainStreamDecoder(), synthetic, [1]);
  t.is(r.error, undefined);
  t.is(firstDifference(fingerprint(r.records), fingerprint(whole.records)), undefined);
});

test('records carry offsets and lengths that tile the stream exactly', (t) => {
  let at = 0;
  for (const r of whole.records) {
    t.is(r.offset, at, r.kind);
    at += r.length;
  }
  t.is(at, synthetic.length);
});

test('a caller-supplied description names device fields before the trailer arrives', (t) => {
  const r = feed<MainRecord>(new MainStreamDecoder({ vmdesc: SYNTHETIC_VMDESC }), synthetic, [7]);
  const timer = r.records.find((x) => x.kind === 'device-state' && x.idstr === 'timer');
  t.true(timer?.kind === 'device-state');
  if (timer?.kind !== 'device-state') return;
  t.deepEqual(
    timer.vmstate?.fields.map((f) => [f.name, f.value]),
    [
      ['cpu_ticks_offset', 1],
      ['dummy', 2],
      ['cpu_clock_offset', 3],
    ],
  );
  t.is(timer.vmstate?.subsections[0]?.name, 'timer/dticks');
  t.deepEqual(timer.vmstate?.subsections[0]?.fields[0]?.value, 42);
});

test('VFIO sections are split into their delimited items', (t) => {
  const vfio = whole.records.filter((r) => r.kind === 'device-state' && r.idstr.endsWith('/vfio'));
  t.deepEqual(
    vfio.map((r) => (r.kind === 'device-state' ? r.vfio?.map((i) => i.name) : [])),
    [
      ['DEV_SETUP_STATE', 'END_OF_STATE'],
      ['DEV_DATA_STATE', 'DEV_INIT_DATA_SENT'],
    ],
  );
});

test('a page record is a view into the received chunk, not a copy', (t) => {
  const dec = new MainStreamDecoder();
  const pages: Uint8Array[] = [];
  dec.write(synthetic, (r) => {
    if (r.kind === 'ram-page') pages.push(r.data);
  });
  t.true(pages.length > 0);
  for (const p of pages) t.is(p.buffer, synthetic.buffer);
});

for (const name of sharedCaptures()) {
  test(`${name}: every channel decodes the same in 1-byte and random chunks`, (t) => {
    const random = rng(name.length * 7919);
    for (const ch of captureChannels(name)) {
      const magic = ch.bytes.readUInt32BE(0);
      const make = (): MainStreamDecoder | MultifdDecoder | ReturnPathDecoder =>
        ch.direction === 'dst2src' ? new ReturnPathDecoder() : magic === 0x5145564d ? new MainStreamDecoder() : magic === 0x11223344 ? new MultifdDecoder() : new MainStreamDecoder({ start: 'ram' });
      const big = feed(make(), ch.bytes, [ch.bytes.length]);
      t.is(big.error, undefined);
      const expected = fingerprint(big.records);
      const randomChunks = feed(make(), ch.bytes, () => 1 + Math.floor(random() * random() * 70000));
      t.is(firstDifference(fingerprint(randomChunks.records), expected), undefined, `${ch.file} random chunks`);
      if (ch.bytes.length <= 600_000) {
        const ones = feed(make(), ch.bytes, [1]);
        t.is(firstDifference(fingerprint(ones.records), expected), undefined, `${ch.file} 1-byte chunks`);
      }
    }
  });
}

(sharedCaptures().length ? test : test.skip)('omitPayloads: multifd headers decode the same, payloads are skipped as they arrive', (t) => {
  for (const name of sharedCaptures().filter((n) => n.includes('multifd'))) {
    const ch = captureChannels(name).find((c) => c.bytes.readUInt32BE(0) === 0x11223344)!;
    const full = feed<{ kind: string; payload?: Uint8Array; length: number; offset: number; payloadOmitted?: boolean }>(new MultifdDecoder(), ch.bytes, [4096]);
    const lean = feed<{ kind: string; payload?: Uint8Array; length: number; offset: number; payloadOmitted?: boolean }>(new MultifdDecoder({ omitPayloads: true }), ch.bytes, [4096]);
    t.is(lean.error, undefined);
    t.is(lean.records.length, full.records.length);
    for (let i = 0; i < full.records.length; i++) {
      const a = full.records[i]!;
      const b = lean.records[i]!;
      t.is(b.offset, a.offset);
      t.is(b.length, a.length);
      if (a.kind === 'multifd-packet' && (a.payload?.length ?? 0) > 0) {
        t.true(b.payloadOmitted);
        t.is(b.payload?.length, 0);
      }
    }
  }
});

(sharedCaptures().length ? test : test.skip)('omitPayloads: payloads skipped unread (skipAbsent) give the same records and offsets as payloads fed', (t) => {
  for (const name of sharedCaptures().filter((n) => n.includes('multifd'))) {
    const ch = captureChannels(name).find((c) => c.bytes.readUInt32BE(0) === 0x11223344)!;
    const full = feed<{ kind: string; offset: number; length: number }>(new MultifdDecoder({ omitPayloads: true }), ch.bytes, [4096]);
    const dec = new MultifdDecoder({ omitPayloads: true });
    const got: Array<{ kind: string; offset: number; length: number }> = [];
    let unread = 0;
    for (let at = 0; at < ch.bytes.length; ) {
      const skip = Math.min(dec.skippable, ch.bytes.length - at);
      if (skip > 0) {
        t.throws(() => dec.skipAbsent(dec.skippable + 1), { instanceOf: RangeError });
        dec.skipAbsent(skip);
        unread += skip;
        at += skip;
        continue;
      }
      const n = Math.min(1000, ch.bytes.length - at);
      dec.write(ch.bytes.subarray(at, at + n), (r) => got.push(r as { kind: string; offset: number; length: number }));
      at += n;
    }
    dec.end(() => {});
    t.true(unread > 0, `${name}: payloads were passed over unread`);
    t.deepEqual(got.map((r) => [r.kind, r.offset, r.length]), full.records.map((r) => [r.kind, r.offset, r.length]));
  }
});
