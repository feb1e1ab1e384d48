import { isPhantom } from './phantom.js';

/**
 * Out-of-order segments waiting for a gap to fill: sorted, non-overlapping, first copy wins.
 * Also the recently delivered bytes, to tell a faithful retransmission from a conflicting one.
 */

export interface StoredSegment {
  offset: number;
  bytes: Uint8Array;
  time: number;
  /** File position of bytes[0] (NaN: unknown). */
  filePos: number;
}

/** A byte range whose stored copy differs from a newly seen one. */
export interface Mismatch {
  offset: number;
  length: number;
}

/** Sorted non-overlapping segments. */
export class SegmentStore {
  readonly segments: StoredSegment[] = [];
  bytes = 0;

  /**
   * Adds the parts of `seg` not already held; overlapping parts are compared and mismatches
   * returned (the held copy stays). Returns the count of overlapping bytes in `overlapped`.
   */
  insert(seg: StoredSegment, mismatches: Mismatch[]): number {
    const list = this.segments;
    let i = this.firstEndingAfter(seg.offset);
    let at = seg.offset;
    const end = seg.offset + seg.bytes.length;
    let overlapped = 0;
    while (at < end) {
      const held = list[i];
      if (!held || held.offset >= end) {
        this.put(i, seg, at, end);
        break;
      }
      if (held.offset > at) {
        this.put(i, seg, at, held.offset);
        i++;
        at = held.offset;
        continue;
      }
      const overlapEnd = Math.min(end, held.offset + held.bytes.length);
      overlapped += overlapEnd - at;
      compare(held, seg, at, overlapEnd, mismatches);
      at = overlapEnd;
      i++;
    }
    return overlapped;
  }

  /** Removes and returns the first segment. */
  shift(): StoredSegment | undefined {
    const s = this.segments.shift();
    if (s) this.bytes -= s.bytes.length;
    return s;
  }

  get first(): StoredSegment | undefined {
    return this.segments[0];
  }

  clear(): void {
    this.segments.length = 0;
    this.bytes = 0;
  }

  private put(index: number, seg: StoredSegment, from: number, to: number): void {
    // Copy: the source view may pin a large read buffer for as long as the gap stays open.
    const bytes = seg.bytes.slice(from - seg.offset, to - seg.offset);
    this.segments.splice(index, 0, { offset: from, bytes, time: seg.time, filePos: seg.filePos + (from - seg.offset) });
    this.bytes += bytes.length;
  }

  private firstEndingAfter(offset: number): number {
    return firstEndingAfter(this.segments, 0, offset);
  }
}

/** Index of the first of the sorted `list[from..]` that ends after `offset` (binary search). */
function firstEndingAfter(list: readonly StoredSegment[], from: number, offset: number): number {
  let lo = from;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const s = list[mid]!;
    if (s.offset + s.bytes.length <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The last `limit` delivered bytes (as views), to check retransmissions against. Delivered in
 * order, so held chunks are sorted by offset: a queue with a moving head (no shift of a large
 * array per tiny segment) searched by binary search.
 */
export class RecentBytes {
  private chunks: StoredSegment[] = [];
  private head = 0;
  private held = 0;

  constructor(
    private readonly limit: number,
    /** Reads delivered bytes back by file position, for those that were never read (phantoms). */
    private readonly reread?: (filePos: number, length: number) => Uint8Array,
  ) {}

  add(seg: StoredSegment): void {
    if (this.limit <= 0) return;
    this.chunks.push(seg);
    this.held += seg.bytes.length;
    while (this.chunks.length - this.head > 1 && this.held - this.chunks[this.head]!.bytes.length >= this.limit) {
      this.held -= this.chunks[this.head++]!.bytes.length;
    }
    // Dropped entries are cut off once they are the larger part: amortised constant time.
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.held = 0;
  }

  /** Compares `seg` over [from, to) with what was delivered there, where still held. */
  check(seg: StoredSegment, from: number, to: number, mismatches: Mismatch[]): void {
    for (let i = firstEndingAfter(this.chunks, this.head, from); i < this.chunks.length; i++) {
      let c = this.chunks[i]!;
      if (c.offset >= to) break;
      const a = Math.max(from, c.offset);
      const b = Math.min(to, c.offset + c.bytes.length);
      if (a >= b) continue;
      if (isPhantom(c.bytes)) {
        if (!this.reread || Number.isNaN(c.filePos)) continue;
        c = this.chunks[i] = { ...c, bytes: this.reread(c.filePos, c.bytes.length) };
      }
      compare(c, seg, a, b, mismatches);
    }
  }
}

function compare(held: StoredSegment, seg: StoredSegment, from: number, to: number, out: Mismatch[]): void {
  const h = held.bytes;
  const s = seg.bytes;
  const ho = held.offset;
  const so = seg.offset;
  for (let p = from; p < to; p++) {
    if (h[p - ho] !== s[p - so]) {
      let q = p + 1;
      while (q < to && h[q - ho] !== s[q - so]) q++;
      const last = out[out.length - 1];
      if (last && last.offset + last.length === p) last.length += q - p;
      else out.push({ offset: p, length: q - p });
      p = q;
    }
  }
}
