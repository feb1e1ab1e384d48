/**
 * The recorded timing of a capture: chunks.csv (`seq,t,conn,dir,offset,len`, one line per recv in
 * the proxy) read line by line into one schedule per connection, and the clock that maps recorded
 * seconds to replay time.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { readChunks, type ArrivalTimes } from '@migwire/capture';

/** One connection's source-to-destination chunks, in order: parallel columns (compact for long captures). */
export interface ChunkSchedule {
  t: number[];
  offset: number[];
  len: number[];
}

/** Read the src2dst rows of chunks.csv (readChunks checks that offsets follow each other from 0). */
export async function readSchedule(path: string): Promise<Map<number, ChunkSchedule>> {
  const out = new Map<number, ChunkSchedule>();
  for await (const { t, conn, dir, offset, len } of readChunks(path)) {
    if (dir !== 'src2dst') continue;
    let s = out.get(conn);
    if (!s) out.set(conn, (s = { t: [], offset: [], len: [] }));
    s.t.push(t);
    s.offset.push(offset);
    s.len.push(len);
  }
  return out;
}

/**
 * The schedule of a packet capture: each connection's src2dst packets (Capture.arrivals), a chunk
 * per packet up to the next one's offset; the last runs to `sizes` (its byte count) when known.
 */
export function scheduleFromArrivals(times: ArrivalTimes, sizes: ReadonlyMap<number, number | undefined>): Map<number, ChunkSchedule> {
  const out = new Map<number, ChunkSchedule>();
  for (const [conn, size] of sizes) {
    const runs = times.runs(conn, 'src2dst');
    if (!runs) continue;
    const s: ChunkSchedule = { t: [], offset: [], len: [] };
    const n = runs.offsets.length;
    for (let i = 0; i < n; i++) {
      const offset = runs.offsets[i]!;
      const end = i + 1 < n ? runs.offsets[i + 1]! : (size ?? offset);
      // A zero-length chunk would end sending: a last one of unknown length goes with the rest.
      if (end <= offset) continue;
      s.t.push(runs.times[i]!);
      s.offset.push(offset);
      s.len.push(end - offset);
    }
    out.set(conn, s);
  }
  return out;
}

/** Maps recorded time (seconds on the capture's clock) to replay time, scaled by speed. */
export class ReplayClock {
  constructor(
    /** Recorded time that corresponds to the replay's start. */
    readonly base: number,
    readonly speed: number = 1,
    /** performance.now() at the replay's start. */
    private readonly startMs: number = performance.now(),
  ) {
    if (!(speed > 0)) throw new RangeError(`speed must be > 0, got ${speed}`);
  }

  /** Seconds since the replay started. */
  now(): number {
    return (performance.now() - this.startMs) / 1000;
  }

  /** Replay time (s since start) at which recorded time `t` falls. */
  at(t: number): number {
    return Math.max(0, (t - this.base) / this.speed);
  }

  /** Resolve at recorded time `t` (at once when already past). */
  async until(t: number, signal?: AbortSignal): Promise<void> {
    const wait = this.at(t) * 1000 - (performance.now() - this.startMs);
    if (wait > 1) await delay(wait, undefined, signal ? { signal } : undefined);
  }
}
