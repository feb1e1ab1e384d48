/**
 * Guest memory helpers: dump physical memory with QMP `pmemsave`, compare dumps, and check the
 * pattern our guest (guest.ts) writes.
 */

import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { PAGE_SIZE, MiB } from './guest.js';
import type { QmpClient } from './qmp.js';

/**
 * Dump `size` bytes of guest physical memory starting at `addr` into `file` (written by QEMU;
 * pmemsave is synchronous) and return them. The VM should be stopped for a consistent picture.
 */
export async function pmemsave(
  qmp: QmpClient,
  opts: { addr?: number; size: number; file: string; keepFile?: boolean },
): Promise<Buffer> {
  await qmp.execute('pmemsave', { val: opts.addr ?? 0, size: opts.size, filename: opts.file }, { timeoutMs: 120_000 });
  const buf = await readFile(opts.file);
  if (buf.length !== opts.size) {
    throw new Error(`pmemsave wrote ${buf.length} bytes, expected ${opts.size}`);
  }
  if (!opts.keepFile) await rm(opts.file, { force: true });
  return buf;
}

/** The whole guest RAM below 4 GiB (guests up to 2 GiB on q35 are contiguous from 0). */
export function pmemsaveAll(qmp: QmpClient, memMiB: number, file: string, keepFile = false): Promise<Buffer> {
  return pmemsave(qmp, { addr: 0, size: memMiB * MiB, file, keepFile });
}

/** The guest's pattern region [startMiB, endMiB). */
export function pmemsaveRegion(
  qmp: QmpClient,
  startMiB: number,
  endMiB: number,
  file: string,
): Promise<Buffer> {
  return pmemsave(qmp, { addr: startMiB * MiB, size: (endMiB - startMiB) * MiB, file });
}

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface MemoryCompareResult {
  ok: boolean;
  size: number;
  sizeOther: number;
  sha256_a: string;
  sha256_b: string;
  /** Number of 4 KiB pages that differ. */
  differing_pages: number;
  /** Physical addresses (hex) of the first differing pages (up to 16). */
  first_differing_addrs: string[];
}

/** Page-by-page comparison of two dumps taken at the same base address. */
export function compareMemory(a: Buffer, b: Buffer, baseAddr = 0): MemoryCompareResult {
  const size = Math.min(a.length, b.length);
  let differing = 0;
  const first: string[] = [];
  for (let off = 0; off < size; off += PAGE_SIZE) {
    const end = Math.min(off + PAGE_SIZE, size);
    if (a.compare(b, off, end, off, end) !== 0) {
      differing++;
      if (first.length < 16) first.push('0x' + (baseAddr + off).toString(16));
    }
  }
  return {
    ok: differing === 0 && a.length === b.length,
    size: a.length,
    sizeOther: b.length,
    sha256_a: sha256(a),
    sha256_b: sha256(b),
    differing_pages: differing,
    first_differing_addrs: first,
  };
}

export interface PatternBoundary {
  /** Page index within the region (0 = the page at startMiB). */
  page: number;
  /** First byte of the page before the boundary. */
  before: number;
  /** First byte of this page. */
  after: number;
}

export interface PatternResult {
  ok: boolean;
  /** Pages in the region. */
  pages: number;
  /**
   * `uniform`: every page's first byte equal (the VM stopped between passes);
   * `one-boundary`: equal except one drop by exactly one (mod 256), where the loop was;
   * `invalid`: anything else (see `reason`).
   */
  shape: 'uniform' | 'one-boundary' | 'invalid';
  first_counter: number;
  last_counter: number;
  /** Every place where consecutive first bytes differ (up to 16 listed). */
  boundaries: PatternBoundary[];
  boundary_count: number;
  /** Page indexes whose bytes 1..4095 are not all zero (up to 16 listed). */
  pages_with_nonzero_tail: number[];
  nonzero_tail_count: number;
  reason: string | null;
}

/**
 * Check the guest pattern in a memory dump. `buf` is either a dump from physical address 0 that
 * covers endMiB, or exactly the region [startMiB, endMiB) (give `baseAddr` to override).
 *
 * Valid: each page's first byte equal, or equal except one drop by exactly one (mod 256) from
 * one page to the next; the remaining 4095 bytes of every page zero.
 */
export function verifyPattern(
  buf: Buffer,
  startMiB: number,
  endMiB: number,
  opts: { baseAddr?: number } = {},
): PatternResult {
  const regionStart = startMiB * MiB;
  const regionEnd = endMiB * MiB;
  let base: number;
  if (opts.baseAddr !== undefined) base = opts.baseAddr;
  else if (buf.length === regionEnd - regionStart) base = regionStart;
  else if (buf.length >= regionEnd) base = 0;
  else throw new Error(`verifyPattern: buffer of ${buf.length} bytes covers neither 0..${regionEnd} nor the region`);
  if (regionStart < base || regionEnd > base + buf.length) {
    throw new Error('verifyPattern: the region is not inside the buffer');
  }
  const pages = (regionEnd - regionStart) / PAGE_SIZE;
  const boundaries: PatternBoundary[] = [];
  let boundaryCount = 0;
  const tails: number[] = [];
  let tailCount = 0;
  let prev = -1;
  let first = -1;
  let last = -1;
  let badDrop: PatternBoundary | null = null;
  for (let p = 0; p < pages; p++) {
    const off = regionStart - base + p * PAGE_SIZE;
    const v = buf[off] ?? 0;
    if (p === 0) first = v;
    last = v;
    if (p > 0 && v !== prev) {
      boundaryCount++;
      const b = { page: p, before: prev, after: v };
      if (boundaries.length < 16) boundaries.push(b);
      if (((prev - v) & 0xff) !== 1 && badDrop === null) badDrop = b;
    }
    prev = v;
    // Tail: bytes 1..4095 must be zero (native compare against a zero page).
    if (buf.compare(ZERO_PAGE, 0, PAGE_SIZE - 1, off + 1, off + PAGE_SIZE) !== 0) {
      tailCount++;
      if (tails.length < 16) tails.push(p);
    }
  }
  let shape: PatternResult['shape'];
  let reason: string | null = null;
  if (boundaryCount === 0) shape = 'uniform';
  else if (boundaryCount === 1 && badDrop === null) shape = 'one-boundary';
  else {
    shape = 'invalid';
    reason =
      badDrop !== null
        ? `page ${badDrop.page}: first byte ${badDrop.after} after ${badDrop.before} (not a drop by one)`
        : `${boundaryCount} boundaries (at most one allowed)`;
  }
  if (tailCount > 0 && reason === null) reason = `${tailCount} pages have non-zero bytes after the first`;
  return {
    ok: shape !== 'invalid' && tailCount === 0,
    pages,
    shape,
    first_counter: first,
    last_counter: last,
    boundaries,
    boundary_count: boundaryCount,
    pages_with_nonzero_tail: tails,
    nonzero_tail_count: tailCount,
    reason,
  };
}
