/**
 * Where a direction's reassembled bytes lie in an uncompressed capture file, noted during pass 1:
 * (position, length) runs in stream order, up to the first hole. A channel is then read straight
 * from the file by position, in any order and independently of the others, with no second
 * reassembly pass. Memory: 16 bytes per run (a run per packet at most), capped per capture.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { HoleReason } from '../tcp/events.js';

/** Runs noted over a whole capture before the rest is left to a reassembly pass. */
export const MAX_EXTENT_RUNS = 2_000_000;
const WINDOW = 1 << 20;
/** Runs closer than this in the file are read with one read (the packet headers between are dropped). */
const GAP = 64 << 10;
/** Read window while the consumer skips payloads (readExtents' `skippable`). */
const SKIPPING_WINDOW = 64 << 10;
/** Runs shorter than this (small packets) are copied together into larger chunks for the decoder. */
const PACK_BELOW = 8 << 10;

const NO_RUNS = new Float64Array(0);

export class StreamExtents {
  // Empty until the first run: a capture may hold 100,000s of connections that carry no byte.
  private pos: Float64Array = NO_RUNS;
  private len: Float64Array = NO_RUNS;
  /** Packet time of each run's first byte. */
  private time: Float64Array = NO_RUNS;
  count = 0;
  /** Bytes the runs cover (the stream up to its first hole). */
  bytes = 0;
  /** The first hole: the stream stops there. */
  hole: { offset: number; length: number; reason: HoleReason } | undefined;
  /** Some bytes had no file position (or the cap was reached): read this stream by reassembly. */
  unusable = false;

  /** Appends `length` bytes at file position `filePos` (NaN: unknown), captured at `time`. Returns the runs added (0 or 1). */
  add(filePos: number, length: number, time: number): number {
    if (this.unusable || this.hole) return 0;
    if (Number.isNaN(filePos)) {
      this.drop();
      return 0;
    }
    this.bytes += length;
    const last = this.count - 1;
    if (last >= 0 && this.pos[last]! + this.len[last]! === filePos) {
      this.len[last]! += length;
      return 0;
    }
    if (this.count === this.pos.length) {
      const grow = (a: Float64Array): Float64Array => {
        const b = new Float64Array(Math.max(16, a.length * 2));
        b.set(a);
        return b;
      };
      this.pos = grow(this.pos);
      this.len = grow(this.len);
      this.time = grow(this.time);
    }
    this.pos[this.count] = filePos;
    this.len[this.count] = length;
    this.time[this.count] = time;
    this.count++;
    return 1;
  }

  /** Give up on positions for this stream (memory back). */
  drop(): void {
    this.unusable = true;
    this.pos = this.len = this.time = NO_RUNS;
    this.count = 0;
  }

  /** Stream offset, length and packet time of each run, in order (no file access). */
  *timedRuns(): Generator<{ offset: number; length: number; time: number }> {
    let offset = 0;
    for (let i = 0; i < this.count; i++) {
      yield { offset, length: this.len[i]!, time: this.time[i]! };
      offset += this.len[i]!;
    }
  }

  run(i: number): [number, number, number] {
    return [this.pos[i]!, this.len[i]!, this.time[i]!];
  }
}

/** Bytes of a stream left unread because its consumer said it would pass over them (see readExtents). */
export class SkippedBytes {
  constructor(readonly length: number) {}
}

/** One run read back: its bytes (a view, never overwritten), stream offset, file position and packet time. */
export interface ReadRun {
  bytes: Uint8Array;
  offset: number;
  filePos: number;
  time: number;
}

/**
 * Reads a stream's runs in order from an open file descriptor, nearby runs sharing one read
 * (synchronous: page-cache copies). `nextPos` tells where the next run lies without reading it,
 * so several streams can be read in file order.
 */
export class RunReader {
  private i = 0;
  private offset = 0;
  private window: Buffer = Buffer.alloc(0);
  private windowAt = 0;

  constructor(
    private readonly fd: number,
    private readonly extents: StreamExtents,
    private readonly path: string,
    /** Largest read that coalesces several runs. */
    private readonly windowBytes = WINDOW,
  ) {
    if (extents.unusable) throw new Error('this stream has no file positions');
  }

  /** File position of the next run; undefined at the end. */
  get nextPos(): number | undefined {
    return this.i < this.extents.count ? this.extents.run(this.i)[0] : undefined;
  }

  next(): ReadRun | undefined {
    if (this.i >= this.extents.count) return undefined;
    const [pos, len, time] = this.extents.run(this.i);
    if (pos < this.windowAt || pos + len > this.windowAt + this.window.length) this.fill(this.i);
    const bytes = this.window.subarray(pos - this.windowAt, pos - this.windowAt + len);
    const run = { bytes, offset: this.offset, filePos: pos, time };
    this.i++;
    this.offset += len;
    return run;
  }

  /** Length of the next run; undefined at the end. */
  get nextLength(): number | undefined {
    return this.i < this.extents.count ? this.extents.run(this.i)[1] : undefined;
  }

  /** Pass over the next run without reading it; its length. */
  skip(): number {
    const l = this.extents.run(this.i)[1];
    this.i++;
    this.offset += l;
    return l;
  }

  /** Reads runs i.. that lie close together (one window, at least run i). */
  private fill(i: number): void {
    const [start] = this.extents.run(i);
    let end = start;
    for (let j = i; j < this.extents.count; j++) {
      const [p, l] = this.extents.run(j);
      if (p < end || p - end > GAP || (p + l - start > this.windowBytes && j > i)) break;
      end = p + l;
    }
    const window = Buffer.allocUnsafeSlow(end - start);
    let got = 0;
    while (got < window.length) {
      const n = readSync(this.fd, window, got, window.length - got, start + got);
      if (n === 0) throw new Error(`${this.path}: file shorter than when it was indexed`);
      got += n;
    }
    this.window = window;
    this.windowAt = start;
  }
}

/**
 * The stream's bytes read from `path` by position (up to its first hole; the caller reports
 * it). Small runs are packed into larger chunks.
 */
export function readExtents(path: string, extents: StreamExtents): AsyncGenerator<Uint8Array>;
/**
 * With `skippable` (how many of the coming bytes the consumer will pass over unread), whole runs
 * within that many bytes are not read: a SkippedBytes of their length comes in their place.
 */
export function readExtents(path: string, extents: StreamExtents, skippable: () => number): AsyncGenerator<Uint8Array | SkippedBytes>;
export async function* readExtents(path: string, extents: StreamExtents, skippable?: () => number): AsyncGenerator<Uint8Array | SkippedBytes> {
  const fd = openSync(path, 'r');
  try {
    // Skipping: reads of one run or a few small ones, so a packet header does not drag in a
    // window of the payload that follows it.
    const reader = new RunReader(fd, extents, path, skippable ? SKIPPING_WINDOW : WINDOW);
    let packed: Buffer | undefined;
    let packedLen = 0;
    let n = 0;
    for (;;) {
      if (skippable) {
        const next = reader.nextLength;
        if (next !== undefined && !packedLen && next <= skippable()) {
          let left = skippable();
          let skipped = 0;
          while (reader.nextLength !== undefined && reader.nextLength <= left) {
            const l = reader.skip();
            left -= l;
            skipped += l;
          }
          yield new SkippedBytes(skipped);
          continue;
        }
      }
      const run = reader.next();
      if (!run) break;
      const l = run.bytes.length;
      if (l >= PACK_BELOW) {
        if (packedLen) yield packed!.subarray(0, packedLen);
        packed = undefined;
        packedLen = 0;
        yield run.bytes;
        continue;
      }
      if (packed && packedLen + l > packed.length) {
        yield packed.subarray(0, packedLen);
        packed = undefined;
        packedLen = 0;
      }
      packed ??= Buffer.allocUnsafeSlow(Math.max(1 << 20, l));
      packed.set(run.bytes, packedLen);
      packedLen += l;
      if (++n % 1024 === 0) await Promise.resolve(); // let other work in
    }
    if (packedLen) yield packed!.subarray(0, packedLen);
  } finally {
    closeSync(fd);
  }
}
