/**
 * `dump --json` shapes people script against (issue 13 item 10): byte fields are {length, hex}
 * (never Node's {"type":"Buffer","data":[...]}), page payloads only with --bytes, integers beyond
 * 2^53 as decimal strings, and control characters in names never reach a terminal raw.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MultifdPacketBuilder, encodeMainStream, type CodecRecord, type MainRecordInput } from '@migwire/stream-codec';
import { main, MemoryOutput } from '../src/index.js';
import { PAGE_PAYLOAD, nestedJson, recordJson } from '../src/format/record-json.js';
import { PageJsonBytes } from '../src/format/page-json-bytes.js';
import { decodeCapture, openCapture } from '@migwire/capture';
import { FIXTURES } from './paths.js';

async function lines(...argv: string[]): Promise<string[]> {
  const o = new MemoryOutput();
  const code = await main(argv, o);
  if (code !== 0) throw new Error(`exit ${code}: ${o.errors.join('\n')}`);
  return o.lines.join('\n').split('\n');
}

type Bytes = { length: number; hex?: string; hexTruncated?: boolean };
const PRECOPY = join(FIXTURES, '10.0-precopy-file');
const MULTIFD = join(FIXTURES, '10.0-multifd4-none');

test('dump --json of a real stream: byte fields are {length, hex} cut at 64 bytes, pages carry no bytes', async (t) => {
  const out = await lines('dump', PRECOPY, '--json', '--no-summary');
  t.false(out.some((l) => l.includes('"type":"Buffer"')));
  const recs = out.map((l) => JSON.parse(l) as { kind: string; length: number; data?: Bytes; json?: Bytes });
  const pages = recs.filter((r) => r.kind === 'ram-page');
  t.true(pages.length > 1000);
  t.true(pages.every((r) => r.data === undefined));
  const devices = recs.filter((r) => r.kind === 'device-state');
  t.true(devices.length > 5);
  for (const d of devices) {
    t.is(typeof d.data!.length, 'number');
    t.is(d.data!.hex!.length, 2 * Math.min(64, d.data!.length));
    t.is(d.data!.hexTruncated, d.data!.length > 64 ? true : undefined);
  }
  const vmdesc = recs.find((r) => r.kind === 'vmdescription')!;
  t.true(vmdesc.json!.length > 64);
  t.true(vmdesc.json!.hexTruncated);
  // The parsed description stays (it is not bytes); every other line is short.
  t.true(Math.max(...out.filter((l) => !l.includes('"vmdescription"')).map((l) => l.length)) < 4096, 'no line carries a page');
});

test('dump --json --bytes: whole hex, page payloads included and equal to the stream bytes', async (t) => {
  const out = await lines('dump', PRECOPY, '--json', '--bytes', '--no-summary');
  const stream = gunzipSync(readFileSync(join(PRECOPY, 'stream.bin.gz')));
  const recs = out.map((l) => JSON.parse(l) as { kind: string; offset: number; length: number; data?: Bytes });
  const page = recs.find((r) => r.kind === 'ram-page' && r.data!.hex!.replace(/0/g, '') !== '')!;
  t.is(page.data!.length, 4096);
  t.is(page.data!.hex, stream.subarray(page.offset + page.length - 4096, page.offset + page.length).toString('hex'));
  const dev = recs.find((r) => r.kind === 'device-state' && r.data!.length > 64)!;
  t.is(dev.data!.hex!.length, 2 * dev.data!.length);
  t.is(dev.data!.hexTruncated, undefined);
});

test('dump --json of a multifd capture: the init uuid is {length: 16, hex}', async (t) => {
  const out = await lines('dump', MULTIFD, '--json', '--no-summary', '--channel', 'multifd');
  const init = out.map((l) => JSON.parse(l) as { kind: string; uuid?: Bytes; payload?: Bytes }).filter((r) => r.kind === 'multifd-init');
  t.true(init.length >= 1);
  for (const r of init) {
    t.is(r.uuid!.length, 16);
    t.regex(r.uuid!.hex!, /^[0-9a-f]{32}$/);
  }
});

test('integers beyond 2^53 print as decimal strings, never as a rounded number', (t) => {
  const line = recordJson('main', { kind: 'device-state', offset: 0, length: 8, depth: 0, sectionId: 3, idstr: 'x', instanceId: 0, data: Buffer.from([1, 2]), big: 2n ** 64n - 1n, huge: 2 ** 64 } as never);
  const o = JSON.parse(line) as { big: unknown; huge: unknown; data: unknown };
  t.is(o.big, '18446744073709551615');
  t.is(o.huge, '18446744073709551616');
  t.deepEqual(o.data, { length: 2, hex: '0102' });
  t.false(line.includes('18446744073709552000'));
});

test('dump --json of a multifd channel with packet_num 2^60+3 prints the exact decimal string', async (t) => {
  const b = new MultifdPacketBuilder({ layout: '10.0', compression: 'none' });
  const bytes = Buffer.concat([...b.init(0, new Uint8Array(16)), ...b.sync(2n ** 60n + 3n), ...b.sync(7)]);
  const dir = mkdtempSync(join(tmpdir(), 'mw-u64-'));
  writeFileSync(join(dir, 'multifd.bin'), bytes);
  const out = await lines('dump', join(dir, 'multifd.bin'), '--json', '--no-summary');
  const nums = out.map((l) => JSON.parse(l) as { kind: string; packetNum?: unknown }).filter((r) => r.kind === 'multifd-packet').map((r) => r.packetNum);
  t.deepEqual(nums, ['1152921504606846979', 7]);
  t.false(out.join('\n').includes('1152921504606847000'));
});

test('control characters in names are escaped in dump output', async (t) => {
  // A stream whose RAM block name holds an escape sequence and a C1 control.
  const block = 'ram\x1b[2J\u009b';
  const stream = encodeMainStream([
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'section', sectionType: 'start', sectionId: 2, idstr: 'ram', instanceId: 0, versionId: 4 },
    { kind: 'ram-mem-size', sectionId: 2, flags: 4, totalBytes: 8192 },
    { kind: 'ram-block', sectionId: 2, block: { name: block, usedLength: 8192 } },
    { kind: 'ram-page', sectionId: 2, flags: 8, block, pageOffset: 4096, data: new Uint8Array(4096).fill(1) },
    { kind: 'ram-eos', sectionId: 2, flags: 0x10 },
    { kind: 'footer', sectionId: 2 },
    { kind: 'eof' },
  ] as MainRecordInput[]);
  const dir = mkdtempSync(join(tmpdir(), 'mw-ctl-'));
  writeFileSync(join(dir, 'ctl.bin'), stream);
  const human = (await lines('dump', join(dir, 'ctl.bin'))).join('\n');
  t.false(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(human));
  t.true(human.includes('ram\\x1b[2J\\x9b'));
  const json = (await lines('dump', join(dir, 'ctl.bin'), '--json')).join('\n');
  t.false(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(json));
  t.true(json.includes('\\u001b[2J\\u009b'));
});

test('the fast JSON paths give the same text as JSON.stringify, record for record, on real captures', async (t) => {
  let pages = 0;
  const pageLines = new PageJsonBytes();
  for (const path of [PRECOPY, MULTIFD, join(FIXTURES, '10.0-postcopy-preempt')]) {
    let n = 0;
    await decodeCapture(await openCapture(path), {
      onRecord: (ch, r: CodecRecord) => {
        n++;
        for (const bytes of [false, true]) {
          const skip = bytes ? undefined : PAGE_PAYLOAD[r.kind];
          if (recordJson(ch.name, r, { bytes }) !== nestedJson(ch.name, r, bytes, skip)) t.fail(`${path} ${ch.name} ${r.kind}@${r.offset}`);
        }
        const line = pageLines.line(ch.name, r);
        if (line) {
          pages++;
          if (Buffer.from(line).toString() !== nestedJson(ch.name, r, false, PAGE_PAYLOAD[r.kind])) t.fail(`bytes: ${path} ${ch.name} ${r.kind}@${r.offset}`);
        }
      },
    });
    t.true(n > 100);
  }
  t.true(pages > 1000, 'page lines written as bytes');
});

test('page lines written as bytes: every digit count, negative and 2^53-1 numbers, odd block and channel names', (t) => {
  const w = new PageJsonBytes();
  const samples = [0, 7, 10, 99, 100, 4095, 4096, 123456789, 2 ** 32, 2 ** 53 - 1];
  for (const v of samples) {
    for (const [channel, block] of [['main', 'pc.ram'], ['postcopy-preempt', '/rom@etc/acpi/tables'], ['conn03.src2dst', 'bl\u0085"ck\\']]) {
      const page = { kind: 'ram-page', offset: v, length: 4104, depth: 0, sectionId: v % 7 === 0 ? -1 : 3, flags: 0x28, block, pageOffset: v, data: new Uint8Array(0) } as unknown as CodecRecord;
      const zero = { kind: 'ram-zero', offset: v, length: 9, depth: 1, sectionId: 2, flags: 0x22, block, pageOffset: v, fill: v & 0xff } as unknown as CodecRecord;
      for (const r of [page, zero]) t.is(Buffer.from(w.line(channel!, r)!).toString(), nestedJson(channel!, r, false, PAGE_PAYLOAD[r.kind]));
    }
  }
  t.is(w.line('main', { kind: 'eof', offset: 0, length: 1, depth: 0 } as unknown as CodecRecord), undefined);
});
