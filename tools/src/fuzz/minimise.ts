/**
 * Shrinking an input while its outcome stays the same (delta debugging over removable pieces).
 * For main streams the pieces are whole sections (header, body, footer) and the trailer, found by
 * decoding the input as far as it decodes; the piece holding the mutation is never removed.
 */
import { decodeMainStream } from '@migwire/stream-codec';

export interface Piece {
  start: number;
  end: number;
}

/** Sections of a main stream (top level), except the one containing byte `keep`. */
export function mainPieces(bytes: Uint8Array, keep: number): Piece[] {
  const { records } = decodeMainStream(bytes);
  const pieces: Piece[] = [];
  let open: number | undefined;
  let afterEof: number | undefined;
  for (const r of records) {
    if (r.depth !== 0) continue;
    if (r.kind === 'section' && open === undefined) open = r.offset;
    if (r.kind === 'footer' && open !== undefined) {
      pieces.push({ start: open, end: r.offset + r.length });
      open = undefined;
    }
    if (r.kind === 'eof') afterEof = r.offset + r.length;
    if (r.kind === 'vmdescription' && afterEof !== undefined) pieces.push({ start: r.offset, end: r.offset + r.length });
  }
  return pieces.filter((p) => keep < p.start || keep >= p.end);
}

export function without(bytes: Uint8Array, removed: readonly Piece[]): Uint8Array {
  const sorted = [...removed].sort((a, b) => a.start - b.start);
  let n = bytes.length;
  for (const p of sorted) n -= p.end - p.start;
  const out = new Uint8Array(n);
  let at = 0;
  let from = 0;
  for (const p of sorted) {
    out.set(bytes.subarray(from, p.start), at);
    at += p.start - from;
    from = p.end;
  }
  out.set(bytes.subarray(from), at);
  return out;
}

export interface MinimiseResult {
  bytes: Uint8Array;
  /** Test runs spent. */
  runs: number;
  removed: number;
}

/**
 * ddmin over `pieces`: try removing chunks (halves, quarters, ...) and keep every removal after
 * which `same` still holds, until no chunk can go or `budget` runs are spent.
 */
export async function minimise(bytes: Uint8Array, pieces: Piece[], same: (candidate: Uint8Array) => Promise<boolean>, budget: number): Promise<MinimiseResult> {
  let kept = [...pieces];
  const removed: Piece[] = [];
  let runs = 0;
  let n = 2;
  while (kept.length > 0 && runs < budget) {
    const size = Math.ceil(kept.length / n);
    let progressed = false;
    for (let i = 0; i < kept.length && runs < budget; i += size) {
      const chunk = kept.slice(i, i + size);
      runs++;
      if (await same(without(bytes, [...removed, ...chunk]))) {
        removed.push(...chunk);
        kept = [...kept.slice(0, i), ...kept.slice(i + size)];
        n = Math.max(n - 1, 2);
        progressed = true;
        break;
      }
    }
    if (!progressed) {
      if (size <= 1) break;
      n = Math.min(kept.length, n * 2);
    }
  }
  return { bytes: without(bytes, removed), runs, removed: removed.length };
}
