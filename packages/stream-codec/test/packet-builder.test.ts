/**
 * MultifdPacketBuilder writes what QEMU writes: byte for byte against a real 10.0 multifd
 * capture (no compression), and every built packet decodes back to the pages it was given, in
 * both layouts and with zlib and zstd (one compression stream per channel, as QEMU keeps).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  COMPRESSION_BY_FLAG,
  COMPRESSION_FLAG,
  MultifdPacketBuilder,
  MultifdPageDecoder,
  decodeMultifdChannel,
  prepareCompression,
  type MultifdLayout,
  type MultifdRamPacketRecord,
  type PayloadCompression,
} from '../src/index.js';
import { FIXTURES } from './paths.js';

function fixtureChannel(capture: string, conn: string): Buffer {
  return gunzipSync(readFileSync(join(FIXTURES, capture, `${conn}.src2dst.bin.gz`)));
}

test('every packet of a real QEMU 10.0 multifd channel is rebuilt byte for byte (no compression)', (t) => {
  for (const conn of ['conn01', 'conn02', 'conn03', 'conn04']) {
    const bytes = fixtureChannel('10.0-multifd4-none', conn);
    const { records, error } = decodeMultifdChannel(bytes);
    t.is(error, undefined);
    const b = new MultifdPacketBuilder({ layout: '10.0', compression: 'none' });
    const pd = new MultifdPageDecoder();
    let rebuilt = 0;
    for (const r of records) {
      let parts: Uint8Array[];
      if (r.kind === 'multifd-init') parts = b.init(r.channelId, r.uuid);
      else if (r.kind === 'multifd-packet' && r.normalPages + r.zeroPages === 0) parts = b.sync(r.packetNum);
      else if (r.kind === 'multifd-packet') parts = b.pages({ packetNum: r.packetNum, block: r.block, normal: pd.pages(r), zero: r.zeroOffsets });
      else continue;
      // (Buffer.equals: ava's deepEqual is slow on half-megabyte packets.)
      t.true(Buffer.concat(parts).equals(bytes.subarray(r.offset, r.offset + r.length)), `${conn}: ${r.kind} at byte ${r.offset} differs`);
      rebuilt++;
    }
    t.true(rebuilt > 10, `${conn}: ${rebuilt} packets`);
  }
});

function page(seed: number): Uint8Array {
  const p = new Uint8Array(4096);
  for (let i = 0; i < p.length; i++) p[i] = (i * seed + (i >> 7)) & 0xff;
  return p;
}

for (const layout of ['10.0', '7.2'] as MultifdLayout[]) {
  for (const compression of ['none', 'zlib', 'zstd'] as PayloadCompression[]) {
    test(`${layout} ${compression}: built packets decode to the pages they were built from`, async (t) => {
      await prepareCompression(compression);
      const b = new MultifdPacketBuilder({ layout, compression });
      const uuid = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
      const packets = [
        { packetNum: 1, block: 'pc.ram', normal: [0, 1, 2].map((i) => ({ offset: i * 4096, data: page(i + 3) })), zero: layout === '10.0' ? [0x10000, 0x11000] : [] },
        { packetNum: 2, block: 'pc.ram', normal: Array.from({ length: 128 }, (_, i) => ({ offset: (i + 64) * 4096, data: page(i + 7) })), zero: [] },
        { packetNum: 4, block: 'pc.ram', normal: [{ offset: 0x5000, data: page(99) }], zero: [] },
      ];
      const stream = Buffer.concat([...b.init(3, uuid), ...b.sync(0), ...packets.flatMap((p) => b.pages(p)), ...b.sync(3), ...b.pages(packets[2]!)]);
      const { records, error } = decodeMultifdChannel(stream, { ramBlocks: [{ name: 'pc.ram', usedLength: 1 << 30 }] });
      t.is(error, undefined);
      const init = records[0]!;
      t.is(init.kind, 'multifd-init');
      if (init.kind === 'multifd-init') {
        t.is(init.channelId, 3);
        t.deepEqual([...init.uuid], [...uuid]);
      }
      const data = records.filter((r): r is MultifdRamPacketRecord => r.kind === 'multifd-packet' && r.normalPages > 0);
      const syncs = records.filter((r) => r.kind === 'multifd-packet' && r.sync);
      t.is(syncs.length, 2);
      t.is(data.length, 4);
      const pd = new MultifdPageDecoder();
      for (const [i, want] of [...packets, packets[2]!].entries()) {
        const r = data[i]!;
        t.is(r.layout, layout);
        t.is(r.compression, compression);
        t.is(r.packetNum, want.packetNum);
        t.deepEqual(r.zeroOffsets, want.zero);
        const got = pd.pages(r);
        t.deepEqual(
          got.map((p) => p.offset),
          want.normal.map((p) => p.offset),
        );
        t.true(
          got.every((p, j) => Buffer.from(p.data).equals(want.normal[j]!.data)),
          `packet ${want.packetNum}: page contents`,
        );
      }
    });
  }
}

test('the compression table: flag bits by method and back', (t) => {
  t.deepEqual(COMPRESSION_FLAG, { none: 0, zlib: 2, zstd: 4, qpl: 8, uadk: 0x10, qatzip: 0x20 });
  for (const [name, flag] of Object.entries(COMPRESSION_FLAG)) t.is(COMPRESSION_BY_FLAG[flag], name as never);
});

test('a packet holds 1..128 pages, and 7.2 packets carry no zero pages', (t) => {
  const b72 = new MultifdPacketBuilder({ layout: '7.2', compression: 'none' });
  t.throws(() => b72.pages({ packetNum: 1, block: 'pc.ram', normal: [], zero: [0] }), { instanceOf: RangeError });
  const b = new MultifdPacketBuilder({ layout: '10.0', compression: 'none' });
  t.throws(() => b.pages({ packetNum: 1, block: 'pc.ram', normal: [], zero: [] }), { instanceOf: RangeError });
  t.throws(() => b.pages({ packetNum: 1, block: 'pc.ram', normal: [], zero: Array.from({ length: 129 }, (_, i) => i * 4096) }), { instanceOf: RangeError });
});
