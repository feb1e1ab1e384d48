/**
 * One-line summaries of the block sections' chunks for `dump`: a dirty-bitmap section's few chunks
 * each, by kind, with the bitmap they are for; a block-migration section's (up to hundreds of
 * 1 MiB disk blocks) counted.
 */
import type { BlockMigrationChunk, DirtyBitmapChunk } from '@migwire/stream-codec';
import { printable } from './printable.js';

/** Chunks shown one by one before the rest are counted. */
const SHOWN = 6;

export function dirtyBitmapSummary(chunks: DirtyBitmapChunk[]): string {
  const one = (c: DirtyBitmapChunk): string => {
    let s = c.kinds.join('+') || `flags 0x${c.flags.toString(16)}`;
    if (c.node !== undefined || c.bitmap !== undefined) s += ` ${printable(c.node ?? '')}/${printable(c.bitmap ?? '')}`;
    if (c.granularity !== undefined) s += ` granularity=${c.granularity}${c.bitmapFlags ? ` flags=0x${c.bitmapFlags.toString(16)}` : ''}`;
    if (c.startSector !== undefined) s += ` sectors ${c.startSector}+${c.sectors}${c.bits ? ` (${c.bits.length} B)` : ''}`;
    return s;
  };
  const shown = chunks.slice(0, SHOWN).map(one);
  if (chunks.length > SHOWN) shown.push(`... ${chunks.length - SHOWN} more`);
  return `dirty bitmap: ${shown.join('; ')}`;
}

export function blockMigrationSummary(chunks: BlockMigrationChunk[]): string {
  const blocks = chunks.filter((c) => c.device !== undefined);
  const zero = blocks.filter((c) => c.block === undefined).length;
  const devices = [...new Set(blocks.map((c) => printable(c.device!)))];
  const parts: string[] = [];
  if (blocks.length) parts.push(`${blocks.length} disk blocks of 1 MiB (${zero} zero) of ${devices.map((d) => `"${d}"`).join(', ')}`);
  const progress = chunks.filter((c) => c.progress !== undefined).at(-1)?.progress;
  if (progress !== undefined) parts.push(`progress ${progress}%`);
  if (chunks.at(-1)?.kinds.includes('EOS')) parts.push('EOS');
  return `block migration: ${parts.join(', ') || 'no chunks'}`;
}
