/**
 * decoderFor(role): the decoder a channel's role calls for, behind one Decoder interface, with
 * one DecoderLimits object, and CodecErrors that name the channel, its role and the offset.
 */
import test from 'ava';
import {
  CHANNEL_ROLES,
  CodecError,
  DEFAULT_LIMITS,
  MainStreamDecoder,
  MultifdDecoder,
  MultifdPacketBuilder,
  ReturnPathDecoder,
  decoderFor,
  encodeMainStream,
  isDecodableRole,
  type CodecRecord,
  type Decoder,
} from '../src/index.js';

function decodeAll(dec: Decoder, bytes: Uint8Array): { records: CodecRecord[]; error?: CodecError } {
  const records: CodecRecord[] = [];
  const sink = (r: CodecRecord): void => {
    records.push(r);
  };
  try {
    for (let i = 0; i < bytes.length; i += 7) dec.write(bytes.subarray(i, i + 7), sink);
    dec.end(sink);
  } catch (e) {
    if (e instanceof CodecError) return { records, error: e };
    throw e;
  }
  return { records };
}

const MAIN = encodeMainStream([
  { kind: 'header', magic: 0x5145564d, version: 3 },
  { kind: 'eof' },
] as never);

test('each decodable role gets its decoder; the others none', (t) => {
  t.true(decoderFor('main') instanceof MainStreamDecoder);
  t.true(decoderFor('postcopy-preempt') instanceof MainStreamDecoder);
  t.true(decoderFor('return-path') instanceof ReturnPathDecoder);
  t.true(decoderFor('multifd') instanceof MultifdDecoder);
  for (const role of CHANNEL_ROLES) {
    t.is(decoderFor(role) !== undefined, isDecodableRole(role), role);
  }
  for (const role of ['tls', 'main(tls)', 'multifd(tls)', 'empty', 'other', 'main-recovery'] as const) t.is(decoderFor(role), undefined);
});

test('the main decoder reads a whole stream through the Decoder interface, in small chunks', (t) => {
  const { records, error } = decodeAll(decoderFor('main', { channel: 'conn00' }), MAIN);
  t.is(error, undefined);
  t.deepEqual(
    records.map((r) => r.kind),
    ['header', 'eof'],
  );
});

test('a multifd channel built by the packet builder decodes through decoderFor', (t) => {
  const b = new MultifdPacketBuilder({ layout: '10.0', compression: 'none' });
  const bytes = Buffer.concat([...b.init(2, new Uint8Array(16)), ...b.sync(0), ...b.pages({ packetNum: 1, block: 'pc.ram', normal: [{ offset: 0, data: new Uint8Array(4096).fill(7) }], zero: [4096] })]);
  const dec = decoderFor('multifd', { ramBlocks: [{ name: 'pc.ram', usedLength: 1 << 20 }] });
  const { records, error } = decodeAll(dec, bytes);
  t.is(error, undefined);
  t.is(records.length, 3);
  t.is(dec.channel, 'multifd 2');
});

test('limits reach the return-path decoder: a bitmap beyond maxRecvBitmapBytes is BAD_RECV_BITMAP', (t) => {
  t.is(DEFAULT_LIMITS.maxRecvBitmapBytes, 64 * 1024 * 1024);
  // RECV_BITMAP (type 5, length 7: u8 len + "pc.ram"), then a be64 bitmap size of 256.
  const rp = Buffer.concat([Buffer.from([0, 5, 0, 7, 6]), Buffer.from('pc.ram'), Buffer.from([0, 0, 0, 0, 0, 0, 1, 0])]);
  const small = decodeAll(decoderFor('return-path', { limits: { maxRecvBitmapBytes: 16 } }), rp);
  t.is(small.error?.code, 'BAD_RECV_BITMAP');
  t.is(small.error?.role, 'return-path');
  t.is(small.error?.channel, 'return-path');
  t.is(small.error?.offset, 11);
  // With the default limits the same bytes only lack the bitmap itself.
  t.is(decodeAll(decoderFor('return-path'), rp).error?.code, 'TRUNCATED');
});

test('errors from decoderFor decoders carry channel, role and offset; reset() gives a working decoder', (t) => {
  const bad = Buffer.from(MAIN);
  bad[3] = 0x4e;
  const dec = decoderFor('main', { channel: 'conn00' });
  const { error } = decodeAll(dec, bad);
  t.is(error?.code, 'BAD_MAGIC');
  t.is(error?.channel, 'conn00');
  t.is(error?.role, 'main');
  t.is(error?.offset, 0);
  // JSON output keeps its shape (no role).
  t.false('role' in (error?.toJSON() ?? {}));
  t.is(decodeAll(dec.reset(), MAIN).error, undefined);
  const preempt = decodeAll(decoderFor('postcopy-preempt'), Buffer.from([0, 0, 0, 0, 0, 0, 0x0f, 0xff]));
  t.is(preempt.error?.role, 'postcopy-preempt');
});

test('skipPagePayloads: a real QEMU stream gives the same records, page payloads consumed but not handed out', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { gunzipSync } = await import('node:zlib');
  const { join } = await import('node:path');
  const { FIXTURES } = await import('./paths.js');
  const bytes = gunzipSync(readFileSync(join(FIXTURES, '10.0-precopy-file', 'stream.bin.gz')));
  const full = decodeAll(decoderFor('main'), bytes);
  const skipped = decodeAll(decoderFor('main', { skipPagePayloads: true }), bytes);
  t.is(full.error, undefined);
  t.is(skipped.error, undefined);
  t.is(skipped.records.length, full.records.length);
  const pages = skipped.records.filter((r) => r.kind === 'ram-page');
  t.true(pages.length > 1000);
  t.true(pages.every((r) => r.kind === 'ram-page' && r.data.length === 0));
  const shape = (r: CodecRecord): string => `${r.kind}@${r.offset}+${r.length}`;
  t.deepEqual(skipped.records.map(shape), full.records.map(shape));
});
