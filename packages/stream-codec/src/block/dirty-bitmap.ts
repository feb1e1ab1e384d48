/**
 * The "dirty-bitmap" section (capability dirty-bitmaps): block dirty bitmaps sent as chunks, each a
 * flags byte, the node and bitmap aliases when they change, then by kind: START (be32 granularity,
 * a flags byte: enabled 0x01, persistent 0x02, 0xf8 reserved), COMPLETE (nothing more), BITS (be64
 * first sector, be32 sector count, and unless ZEROES a be64 size and the serialized bitmap). A
 * chunk with EOS ends each part of the section. Flags may take 2 or 4 bytes (0x80 says more
 * follow); QEMU 7.2-11.1 write one.
 */
import { ErrorCode } from '../core/errors.js';
import type { U64 } from '../core/bytes.js';
import { ChunkReader } from './chunk-reader.js';

export const DIRTY_BITMAP_IDSTR = 'dirty-bitmap';

export const DirtyBitmapFlag = {
  Eos: 0x01,
  Zeroes: 0x02,
  BitmapName: 0x04,
  DeviceName: 0x08,
  Start: 0x10,
  Complete: 0x20,
  Bits: 0x40,
  ExtraFlags: 0x80,
} as const;

/** START's bitmap flags that QEMU defines (0x04, once "autoload", is ignored); the rest must be 0. */
export const DIRTY_BITMAP_START_RESERVED = 0xf8;

export interface DirtyBitmapChunk {
  /** Offset of the chunk within the section data. */
  at: number;
  flags: number;
  /** The flags by name, e.g. ["BITS", "ZEROES"]. */
  kinds: string[];
  /** Node alias and bitmap alias, when the chunk carries them (a chunk without repeats the last). */
  node?: string;
  bitmap?: string;
  granularity?: number;
  bitmapFlags?: number;
  startSector?: U64;
  sectors?: number;
  /** BITS without ZEROES: the serialized bitmap (a view into the section data). */
  bits?: Uint8Array;
}

const NAMES: Array<[number, string]> = [
  [DirtyBitmapFlag.Start, 'START'],
  [DirtyBitmapFlag.Complete, 'COMPLETE'],
  [DirtyBitmapFlag.Bits, 'BITS'],
  [DirtyBitmapFlag.Zeroes, 'ZEROES'],
  [DirtyBitmapFlag.Eos, 'EOS'],
];

/** The chunks of a dirty-bitmap section's data, to its last byte; throws PayloadProblem (BAD_DIRTY_BITMAP). */
export function decodeDirtyBitmapChunks(data: Uint8Array): DirtyBitmapChunk[] {
  const r = new ChunkReader(data, ErrorCode.BadDirtyBitmap);
  const chunks: DirtyBitmapChunk[] = [];
  while (r.left > 0) {
    const at = r.at;
    let flags = r.u8('chunk flags');
    if (flags & DirtyBitmapFlag.ExtraFlags) {
      flags = (flags << 8) | r.u8('chunk flags');
      if (flags & DirtyBitmapFlag.ExtraFlags) flags = ((flags << 16) | (r.u8('chunk flags') << 8) | r.u8('chunk flags')) >>> 0;
    }
    const c: DirtyBitmapChunk = { at, flags, kinds: NAMES.filter(([f]) => flags & f).map(([, n]) => n) };
    if (flags & DirtyBitmapFlag.DeviceName) c.node = r.counted('node alias');
    if (flags & DirtyBitmapFlag.BitmapName) c.bitmap = r.counted('bitmap alias');
    if (flags & DirtyBitmapFlag.Start) {
      c.granularity = r.u32('granularity');
      c.bitmapFlags = r.u8('bitmap flags');
      if (c.bitmapFlags & DIRTY_BITMAP_START_RESERVED) r.fail('START bitmap flags set reserved bits', 'bits 3-7 clear', `0x${c.bitmapFlags.toString(16)}`, r.at - 1);
    }
    if (flags & DirtyBitmapFlag.Bits) {
      c.startSector = r.u64('first sector');
      c.sectors = r.u32('sector count');
      if (!(flags & DirtyBitmapFlag.Zeroes)) {
        const size = r.u64('bitmap size');
        if (typeof size !== 'number' || size > r.left) return r.fail('bitmap buffer runs past the section', `<= ${r.left} bytes`, String(size), r.at - 8);
        c.bits = r.bytes(size, 'bitmap buffer');
      }
    }
    chunks.push(c);
  }
  return chunks;
}
