/**
 * The "block" section of block migration (`migrate -b` / capability "block"; QEMU 9.1 removed it,
 * 7.2 has it): chunks each starting with a be64 of (sector << 9) | flags. DEVICE_BLOCK is followed
 * by the drive's name (u8 length, bytes) and, unless ZERO_BLOCK, 1 MiB of its contents; PROGRESS
 * carries a percentage where the sector would be; EOS ends each part of the section.
 */
import { ErrorCode } from '../core/errors.js';
import type { U64 } from '../core/bytes.js';
import { ChunkReader } from './chunk-reader.js';

export const BLOCK_MIGRATION_IDSTR = 'block';
/** Bytes of disk each DEVICE_BLOCK chunk carries (2048 sectors of 512). */
export const BLOCK_MIGRATION_BLOCK_BYTES = 1024 * 1024;
/** The header's sector is shifted past its flags by this many bits (QEMU's sector size, 512). */
export const BLOCK_MIGRATION_SECTOR_BITS = 9;

export const BlockMigrationFlag = {
  DeviceBlock: 0x01,
  Eos: 0x02,
  Progress: 0x04,
  ZeroBlock: 0x08,
} as const;

export interface BlockMigrationChunk {
  at: number;
  flags: number;
  kinds: string[];
  /** DEVICE_BLOCK: the first sector (512 bytes) of the block. */
  sector?: U64;
  device?: string;
  /** DEVICE_BLOCK without ZERO_BLOCK: the disk's bytes (a view into the section data). */
  block?: Uint8Array;
  /** PROGRESS: percent done. */
  progress?: U64;
}

const FLAG_MASK = (1 << BLOCK_MIGRATION_SECTOR_BITS) - 1;
const NAMES: Array<[number, string]> = [
  [BlockMigrationFlag.DeviceBlock, 'DEVICE_BLOCK'],
  [BlockMigrationFlag.ZeroBlock, 'ZERO_BLOCK'],
  [BlockMigrationFlag.Progress, 'PROGRESS'],
  [BlockMigrationFlag.Eos, 'EOS'],
];
const KNOWN = NAMES.reduce((m, [f]) => m | f, 0);

/** The chunks of a block section's data, to its last byte; throws PayloadProblem (BAD_BLOCK_MIGRATION). */
export function decodeBlockMigrationChunks(data: Uint8Array): BlockMigrationChunk[] {
  const r = new ChunkReader(data, ErrorCode.BadBlockMigration);
  const chunks: BlockMigrationChunk[] = [];
  while (r.left > 0) {
    const at = r.at;
    const header = r.u64('chunk header');
    // The flags are the header's low 9 bits, the sector (or progress) the rest.
    const flags = typeof header === 'bigint' ? Number(header & BigInt(FLAG_MASK)) : header % (FLAG_MASK + 1);
    if (flags & ~KNOWN) r.fail('unknown block-migration flags', `only 0x${KNOWN.toString(16)}`, `0x${flags.toString(16)}`, at);
    const above = typeof header === 'bigint' ? header >> BigInt(BLOCK_MIGRATION_SECTOR_BITS) : Math.floor(header / (FLAG_MASK + 1));
    const c: BlockMigrationChunk = { at, flags, kinds: NAMES.filter(([f]) => flags & f).map(([, n]) => n) };
    if (flags & BlockMigrationFlag.DeviceBlock) {
      c.sector = above;
      c.device = r.counted('device name');
      if (!(flags & BlockMigrationFlag.ZeroBlock)) c.block = r.bytes(BLOCK_MIGRATION_BLOCK_BYTES, 'block data');
    } else if (flags & BlockMigrationFlag.Progress) c.progress = above;
    chunks.push(c);
  }
  return chunks;
}
