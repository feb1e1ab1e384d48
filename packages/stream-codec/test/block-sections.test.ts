/**
 * The block sections' chunk formats: "dirty-bitmap" (capability dirty-bitmaps) and "block" (block
 * migration, 7.2). Chunks as QEMU writes them decode to their parts; cut or garbled ones are
 * BAD_DIRTY_BITMAP / BAD_BLOCK_MIGRATION at the byte that is wrong, never another error; inside a
 * main stream they are attached to the section's device-state record (real QEMU streams:
 * test/block-sections-interop.test.ts).
 */
import test from 'ava';
import {
  BLOCK_MIGRATION_BLOCK_BYTES,
  BlockMigrationFlag,
  CodecError,
  decodeBlockMigrationChunks,
  decodeDirtyBitmapChunks,
  decodeMainStream,
  DirtyBitmapFlag,
  encodeMainStream,
  ErrorCode,
  type MainRecord,
} from '../src/index.js';
import { rng } from './feed.js';

const be32 = (v: number): Buffer => Buffer.from([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
const be64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
};
const counted = (s: string): Buffer => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);

/** The setup part of a dirty-bitmap section: START for node "d0" bitmap "b0", then EOS. */
const bitmapStart = Buffer.concat([Buffer.from([DirtyBitmapFlag.Start | DirtyBitmapFlag.DeviceName | DirtyBitmapFlag.BitmapName]), counted('d0'), counted('b0'), be32(65536), Buffer.from([1]), Buffer.from([DirtyBitmapFlag.Eos])]);
/** An iteration part: BITS with a 32-byte bitmap, BITS+ZEROES, COMPLETE, EOS. */
const bitmapBits = Buffer.concat([
  Buffer.from([DirtyBitmapFlag.Bits]), be64(0n), be32(2048), be64(32n), Buffer.alloc(32, 0xf0),
  Buffer.from([DirtyBitmapFlag.Bits | DirtyBitmapFlag.Zeroes]), be64(2048n), be32(30720),
  Buffer.from([DirtyBitmapFlag.Complete]),
  Buffer.from([DirtyBitmapFlag.Eos]),
]);

test('dirty-bitmap chunks decode to their parts, the names and sizes QEMU wrote', (t) => {
  const start = decodeDirtyBitmapChunks(bitmapStart);
  t.deepEqual(start.map((c) => c.kinds), [['START'], ['EOS']]);
  t.like(start[0], { at: 0, node: 'd0', bitmap: 'b0', granularity: 65536, bitmapFlags: 1 });
  const bits = decodeDirtyBitmapChunks(bitmapBits);
  t.deepEqual(bits.map((c) => c.kinds), [['BITS'], ['BITS', 'ZEROES'], ['COMPLETE'], ['EOS']]);
  t.like(bits[0], { startSector: 0, sectors: 2048 });
  t.deepEqual(Buffer.from(bits[0]!.bits!), Buffer.alloc(32, 0xf0));
  t.like(bits[1], { startSector: 2048, sectors: 30720, bits: undefined });
  // Two-byte flags (0x80 in the first byte) are read as one value.
  t.deepEqual(decodeDirtyBitmapChunks(Buffer.from([0x80, DirtyBitmapFlag.Eos])).map((c) => c.kinds), [['EOS']]);
});

test('block-migration chunks: disk blocks of 1 MiB by sector and drive, zero blocks, progress, EOS', (t) => {
  const data = Buffer.concat([
    be64((2048n << 9n) | BigInt(BlockMigrationFlag.DeviceBlock)), counted('d0'), Buffer.alloc(BLOCK_MIGRATION_BLOCK_BYTES, 0x5a),
    be64((4096n << 9n) | BigInt(BlockMigrationFlag.DeviceBlock | BlockMigrationFlag.ZeroBlock)), counted('d0'),
    be64((88n << 9n) | BigInt(BlockMigrationFlag.Progress)),
    be64(BigInt(BlockMigrationFlag.Eos)),
  ]);
  const chunks = decodeBlockMigrationChunks(data);
  t.deepEqual(chunks.map((c) => c.kinds), [['DEVICE_BLOCK'], ['DEVICE_BLOCK', 'ZERO_BLOCK'], ['PROGRESS'], ['EOS']]);
  t.like(chunks[0], { sector: 2048, device: 'd0' });
  t.is(chunks[0]!.block!.length, BLOCK_MIGRATION_BLOCK_BYTES);
  t.like(chunks[1], { sector: 4096, device: 'd0', block: undefined });
  t.is(chunks[2]!.progress, 88);
});

test('cut or garbled chunks are BAD_DIRTY_BITMAP / BAD_BLOCK_MIGRATION at the byte that is wrong', (t) => {
  const cut = t.throws(() => decodeDirtyBitmapChunks(bitmapBits.subarray(0, 30)), { instanceOf: CodecError })!;
  t.is(cut.code, ErrorCode.BadDirtyBitmap);
  t.is(cut.offset, 13, 'the size field (after flags, sector and count) that claims more than is left');
  t.regex(cut.reason, /bitmap buffer runs past the section/);
  const reserved = Buffer.from(bitmapStart);
  reserved[11] = 0x09;
  const r = t.throws(() => decodeDirtyBitmapChunks(reserved), { instanceOf: CodecError })!;
  t.is(r.offset, 11);
  t.regex(r.reason, /reserved bits/);
  const unknown = t.throws(() => decodeBlockMigrationChunks(be64(0x10n)), { instanceOf: CodecError })!;
  t.is(unknown.code, ErrorCode.BadBlockMigration);
  t.regex(unknown.reason, /unknown block-migration flags/);
  const shortBlock = t.throws(() => decodeBlockMigrationChunks(Buffer.concat([be64(1n), counted('d0'), Buffer.alloc(100)])), { instanceOf: CodecError })!;
  t.is(shortBlock.offset, 11);
  t.regex(shortBlock.reason, /block data runs past the section/);
});

test('random bytes: chunks or a typed error, nothing else (seeded)', (t) => {
  const random = rng(0xb10c);
  let typed = 0;
  for (let i = 0; i < 3000; i++) {
    const base = i % 2 ? bitmapBits : bitmapStart;
    const b = Buffer.from(base);
    for (let k = 0; k < 1 + Math.floor(random() * 4); k++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
    for (const decode of [decodeDirtyBitmapChunks, decodeBlockMigrationChunks]) {
      try {
        decode(b.subarray(0, Math.floor(random() * (b.length + 1))));
      } catch (e) {
        t.true(e instanceof CodecError, String(e));
        typed++;
      }
    }
  }
  t.true(typed > 1000);
});

test('in a main stream, a dirty-bitmap section part carries its chunks, and re-encodes byte for byte', (t) => {
  const name = 'dirty-bitmap';
  const bytes = Buffer.concat([
    Buffer.from('QEVM', 'latin1'), be32(3),
    // SECTION_START: type, section id, idstr, instance id, version id; the data; the footer; EOF.
    Buffer.from([0x01]), be32(2), counted(name), be32(0), be32(1), bitmapStart, Buffer.from([0x7e]), be32(2),
    Buffer.from([0x00]),
  ]);
  const { records, error } = decodeMainStream(bytes);
  t.is(error, undefined, error?.message);
  const dev = records.find((r): r is Extract<MainRecord, { kind: 'device-state' }> => r.kind === 'device-state');
  t.deepEqual(dev?.dirtyBitmap?.map((c) => c.kinds), [['START'], ['EOS']]);
  t.deepEqual(Buffer.from(encodeMainStream(records)), bytes);
});
