/**
 * zlib multifd payloads: QEMU keeps one zlib stream per channel, so a packet's deflate data may
 * point back into earlier packets' pages. The decoder inflates packet by packet (native zlib, the
 * channel's last 32 KiB as dictionary); these tests hold it to the stream as a whole, on a real
 * QEMU 10.0 channel, and to hostile payloads.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { CodecError, ErrorCode, MultifdDecoder, MultifdPageDecoder, decodeMultifdChannel, type MultifdRamPacketRecord } from '../src/index.js';
import { FIXTURES } from './paths.js';

const SYNC_FLUSH = { finishFlush: constants.Z_SYNC_FLUSH };

function zlibPackets(conn: string): MultifdRamPacketRecord[] {
  const bytes = gunzipSync(readFileSync(join(FIXTURES, '10.0-multifd4-zlib', `${conn}.src2dst.bin.gz`)));
  const { records, error } = decodeMultifdChannel(bytes);
  if (error) throw error;
  return records.filter((r): r is MultifdRamPacketRecord => r.kind === 'multifd-packet' && r.normalPages > 0);
}

test('a real QEMU 10.0 zlib channel: packet by packet, the same pages as inflating the whole channel at once', (t) => {
  for (const conn of ['conn01', 'conn02', 'conn03', 'conn04']) {
    const packets = zlibPackets(conn);
    t.true(packets.length > 2, `${conn}: ${packets.length} packets`);
    const pd = new MultifdPageDecoder(4096, conn);
    const ours = Buffer.concat(packets.flatMap((p) => pd.pages(p).map((x) => x.data)));
    // The payloads laid end to end are one zlib stream: inflated in one go, a reference.
    const whole = inflateSync(Buffer.concat(packets.map((p) => p.payload)), SYNC_FLUSH);
    t.true(ours.equals(whole), `${conn}: pages differ from the channel's zlib stream`);
  }
});

test('the real channel needs each packet’s history: some packet does not inflate on its own', (t) => {
  let needHistory = 0;
  for (const conn of ['conn01', 'conn02', 'conn03', 'conn04']) {
    for (const p of zlibPackets(conn).slice(1)) {
      try {
        inflateRawSync(p.payload, SYNC_FLUSH);
      } catch {
        needHistory++;
      }
    }
  }
  t.true(needHistory > 0, 'no packet refers to an earlier one: this test no longer shows the dictionary matters');
});

function zlibPacket(payload: Uint8Array, normalPages: number): MultifdRamPacketRecord {
  return {
    kind: 'multifd-packet', layout: '10.0', magic: 0x11223344, version: 1, flags: 2, sync: false, compression: 'zlib', pagesAlloc: 128,
    normalPages, zeroPages: 0, nextPacketSize: payload.length, packetNum: 1, block: 'pc.ram',
    normalOffsets: Array.from({ length: normalPages }, (_, i) => i * 4096), zeroOffsets: [], payload, offset: 1000, length: 64 + payload.length,
  } as unknown as MultifdRamPacketRecord;
}

const badPayload = (t: import('ava').ExecutionContext, payload: Uint8Array, normalPages: number, reason: RegExp): void => {
  const e = t.throws(() => new MultifdPageDecoder(4096, 'multifd 1').pages(zlibPacket(payload, normalPages)), { instanceOf: CodecError });
  t.is(e?.code, ErrorCode.BadCompressedPayload);
  t.regex(e?.message ?? '', reason);
  t.is(e?.channel, 'multifd 1');
};

test('a payload that inflates past its announced pages is refused, not allocated (a 64 MiB bomb for 1 page)', (t) => {
  badPayload(t, deflateSync(Buffer.alloc(64 << 20), { level: 9 }), 1, /more page data than the packet announces/);
});

test('a payload cut short, a payload that is not zlib, and random bytes are BAD_COMPRESSED_PAYLOAD', (t) => {
  const pages = Buffer.alloc(8192, 7);
  const good = deflateSync(pages, SYNC_FLUSH);
  t.is(new MultifdPageDecoder().pages(zlibPacket(good, 2)).length, 2);
  badPayload(t, good.subarray(0, good.length >> 1), 2, /different amount of page data/);
  badPayload(t, Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0), 1, /zlib payload is corrupt: incorrect zlib header/);
  let seed = 7;
  const noise = Uint8Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  noise[0] = 0x78;
  noise[1] = 0x01;
  const e = t.throws(() => new MultifdPageDecoder().pages(zlibPacket(noise, 1)), { instanceOf: CodecError });
  t.is(e?.code, ErrorCode.BadCompressedPayload);
});

// Found by a sweep: one packet of a zlib channel flagged uncompressed (or the other way round) was
// fine for dump and check --roundtrip, failed check, and failed extract at another byte.
test('a packet with pages compressed otherwise than the channel\'s earlier ones is BAD_CONFIGURATION at its flags', (t) => {
  const bytes = Buffer.from(gunzipSync(readFileSync(join(FIXTURES, '10.0-multifd4-zlib', 'conn01.src2dst.bin.gz'))));
  const withPages: number[] = [];
  new MultifdDecoder().write(bytes, (r) => {
    if (r.kind === 'multifd-packet' && r.normalPages > 0) withPages.push(r.offset);
  });
  t.true(withPages.length >= 2);
  const at = withPages[1]! + 8;
  bytes.writeUInt32BE(bytes.readUInt32BE(at) & ~0x3e, at); // compression bits cleared: "none"
  const e = t.throws(() => new MultifdDecoder().write(bytes, () => undefined));
  t.like(e, { code: 'BAD_CONFIGURATION', offset: at, expected: 'zlib', found: 'none' });
});
