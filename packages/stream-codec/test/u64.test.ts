/**
 * uint64 wire fields beyond 2^53 decode as exact bigints (a number while exact) and re-encode
 * byte for byte: nothing a dump shows or a transcode writes is ever a rounded value.
 */
import test from 'ava';
import {
  MultifdPacketBuilder,
  ReturnPathMessage,
  decodeMainStream,
  decodeMultifdChannel,
  decodeReturnPath,
  encodeMainStream,
  encodeMultifdRecord,
  encodeReturnPathRecord,
  type MainRecordInput,
} from '../src/index.js';
import { writeU64 } from '../src/internal.js';

function u64(v: bigint | number): Uint8Array {
  const b = new Uint8Array(8);
  writeU64(b, 0, v);
  return b;
}
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

test('REQ_PAGES with start 2^63+1: decoded as the exact bigint, re-encoded byte for byte', (t) => {
  const start = 2n ** 63n + 1n;
  const payload = cat(u64(start), Uint8Array.of(0, 0, 0x10, 0));
  const bytes = encodeReturnPathRecord({ kind: 'rp-message', type: ReturnPathMessage.ReqPages, name: 'REQ_PAGES', payload, args: { message: 'REQ_PAGES', start, length: 4096 } });
  const { records, error } = decodeReturnPath(bytes);
  t.is(error, undefined);
  const r = records[0]!;
  t.true(r.kind === 'rp-message' && r.args.message === 'REQ_PAGES' && r.args.start === start);
  t.true(same(encodeReturnPathRecord(r), bytes));
});

test('REQ_PAGES below 2^53 still decodes as a plain number', (t) => {
  const payload = cat(u64(2 ** 53 - 1), Uint8Array.of(0, 0, 0x10, 0));
  const { records } = decodeReturnPath(encodeReturnPathRecord({ kind: 'rp-message', type: ReturnPathMessage.ReqPages, name: 'REQ_PAGES', payload, args: { message: 'REQ_PAGES', start: 2 ** 53 - 1, length: 4096 } }));
  const r = records[0]!;
  t.true(r.kind === 'rp-message' && r.args.message === 'REQ_PAGES' && r.args.start === 2 ** 53 - 1);
});

test('multifd packet_num 2^60+3: decoded as the exact bigint, re-encoded byte for byte', (t) => {
  const num = 2n ** 60n + 3n;
  const b = new MultifdPacketBuilder({ layout: '10.0', compression: 'none' });
  const bytes = cat(...b.init(0, new Uint8Array(16)), ...b.sync(num));
  const { records, error } = decodeMultifdChannel(bytes);
  t.is(error, undefined);
  const p = records[1]!;
  t.true(p.kind === 'multifd-packet' && p.packetNum === num);
  t.true(same(cat(...records.map((r) => encodeMultifdRecord(r))), bytes));
});

test('POSTCOPY_RAM_DISCARD ranges beyond 2^53 and POSTCOPY_ADVISE sizes: exact bigints, re-encoded byte for byte', (t) => {
  const start = 2n ** 53n + 1n;
  const length = 2n ** 64n - 1n;
  const name = Buffer.from('pc.ram', 'latin1');
  const discard = cat(Uint8Array.of(0, name.length), name, Uint8Array.of(0), u64(start), u64(length), u64(0x3000), u64(0x1000));
  const advise = cat(u64(2n ** 62n + 4096n), u64(4096));
  const input: MainRecordInput[] = [
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'command', command: 3, name: 'POSTCOPY_ADVISE', payload: advise, args: { command: 'POSTCOPY_ADVISE' } },
    { kind: 'command', command: 6, name: 'POSTCOPY_RAM_DISCARD', payload: discard, args: { command: 'POSTCOPY_RAM_DISCARD', version: 0, block: 'pc.ram', ranges: [] } },
  ];
  const bytes = encodeMainStream(input);
  const { records } = decodeMainStream(bytes);
  const cmds = records.flatMap((r) => (r.kind === 'command' ? [r.args] : []));
  t.deepEqual(cmds[0], { command: 'POSTCOPY_ADVISE', pageSizeSummary: 2n ** 62n + 4096n, targetPageSize: 4096 });
  t.deepEqual(cmds[1], { command: 'POSTCOPY_RAM_DISCARD', version: 0, block: 'pc.ram', ranges: [{ start, length }, { start: 0x3000, length: 0x1000 }] });
  t.true(same(encodeMainStream(records.filter((r) => r.kind !== 'eof')), bytes));
});
