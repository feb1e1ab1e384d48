/**
 * When each byte of a recording arrived: chunks.csv gives, per connection and direction, the
 * time of every recv(). A record's arrival time is the time of the chunk that held its first byte.
 */
import { existsSync } from 'node:fs';
import type { Direction } from '../naming.js';
import { readChunks } from './reader.js';

export class ArrivalTimes {
  private readonly byStream = new Map<string, { offsets: number[]; times: number[] }>();

  /** Arrival times from a chunks.csv; undefined when the file is not there. */
  static async load(chunksPath: string): Promise<ArrivalTimes | undefined> {
    if (!existsSync(chunksPath)) return undefined;
    const t = new ArrivalTimes();
    for await (const row of readChunks(chunksPath)) t.add(row.conn, row.dir, row.offset, row.t);
    return t;
  }

  /** Record that byte `offset` onwards of `conn`/`dir` arrived at `time` (rows in file order). */
  add(conn: number, dir: Direction, offset: number, time: number): void {
    const key = `${conn}.${dir}`;
    let s = this.byStream.get(key);
    if (!s) this.byStream.set(key, (s = { offsets: [], times: [] }));
    s.offsets.push(offset);
    s.times.push(time);
  }

  /** Arrival time of byte `offset` of connection `conn` in direction `dir`; undefined when unknown. */
  at(conn: number, dir: Direction, offset: number): number | undefined {
    const s = this.byStream.get(`${conn}.${dir}`);
    if (!s || s.offsets.length === 0) return undefined;
    let lo = 0;
    let hi = s.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s.offsets[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return s.times[lo];
  }
}
