/**
 * When each byte of a recording arrived: chunks.csv gives, per connection and direction, the
 * time of every recv() (a packet capture: of every packet). A record's arrival time is the time
 * of the chunk that held its first byte.
 */
import { existsSync } from 'node:fs';
import type { Direction } from '../naming.js';
import { readChunks } from './reader.js';

/** One direction's chunks: stream offset and arrival time of each, in stream order. */
export interface ArrivalRuns {
  readonly offsets: readonly number[];
  readonly times: readonly number[];
}

export class ArrivalTimes {
  private readonly byStream = new Map<string, { offsets: number[]; times: number[] }>();
  /** Captured bytes before a channel's offset 0 (a channel captured mid-stream decodes from there). */
  private readonly origins = new Map<string, number>();
  private first = Infinity;
  private last = -Infinity;

  /**
   * Arrival times from a chunks.csv; undefined when the file is not there. Rows naming no file of
   * the capture, or bytes past a file's end, time nothing (a file is held to index.json's size and
   * sha256, not to chunks.csv): they are read, and have no effect.
   */
  static async load(chunksPath: string): Promise<ArrivalTimes | undefined> {
    if (!existsSync(chunksPath)) return undefined;
    const t = new ArrivalTimes();
    for await (const row of readChunks(chunksPath)) t.add(row.conn, row.dir, row.offset, row.t);
    return t;
  }

  /** Record that captured byte `offset` onwards of `conn`/`dir` arrived at `time` (rows in file order). */
  add(conn: number, dir: Direction, offset: number, time: number): void {
    // A packet without a timestamp (pcapng Simple Packet Block): its bytes take the previous time.
    if (!Number.isFinite(time)) return;
    const key = `${conn}.${dir}`;
    let s = this.byStream.get(key);
    if (!s) this.byStream.set(key, (s = { offsets: [], times: [] }));
    s.offsets.push(offset);
    s.times.push(time);
    if (time < this.first) this.first = time;
    if (time > this.last) this.last = time;
  }

  /**
   * The channel `conn`/`dir` starts `skipped` captured bytes in (CaptureChannel.midStream): its
   * offsets, what lookups take, count from there while the times were added per captured byte.
   */
  setOrigin(conn: number, dir: Direction, skipped: number): void {
    this.origins.set(`${conn}.${dir}`, skipped);
  }

  /** Arrival time of byte `offset` (channel offset) of connection `conn` in direction `dir`; undefined when unknown. */
  at(conn: number, dir: Direction, offset: number): number | undefined {
    const key = `${conn}.${dir}`;
    const s = this.byStream.get(key);
    if (!s || s.offsets.length === 0) return undefined;
    return s.times[runAt(s.offsets, offset + (this.origins.get(key) ?? 0))];
  }

  /**
   * Bytes [offset, offset + length) of a stream split where their arrival time changes: [time,
   * bytes] pieces, in order (one piece, time undefined, when the stream has no times). Lets a
   * reader that sees large read chunks place each byte at its own arrival time.
   */
  *pieces(conn: number, dir: Direction, offset: number, length: number): Generator<[number | undefined, number]> {
    const key = `${conn}.${dir}`;
    const s = this.byStream.get(key);
    if (!s || s.offsets.length === 0) {
      yield [undefined, length];
      return;
    }
    const origin = this.origins.get(key) ?? 0;
    let at = offset;
    const end = offset + length;
    while (at < end) {
      const lo = runAt(s.offsets, at + origin);
      const next = lo + 1 < s.offsets.length ? s.offsets[lo + 1]! - origin : Infinity;
      const to = Math.min(end, next > at ? next : end);
      yield [s.times[lo], to - at];
      at = to;
    }
  }

  /** Every chunk of `conn`/`dir` in captured-byte offsets (from the first captured byte); undefined when none. */
  runs(conn: number, dir: Direction): ArrivalRuns | undefined {
    return this.byStream.get(`${conn}.${dir}`);
  }

  /** The first and last arrival time over every stream; undefined when nothing was added. */
  span(): { first: number; last: number } | undefined {
    return Number.isFinite(this.first) ? { first: this.first, last: this.last } : undefined;
  }
}

/** The run holding captured byte `captured` (the last starting at or before it; the first if none does). */
function runAt(offsets: readonly number[], captured: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= captured) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
