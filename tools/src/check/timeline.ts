/**
 * When each byte of a recording arrived: chunks.csv gives, per connection
 * and direction, the time of every recv(). A record's arrival time is the
 * time of the chunk that held its first byte.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export class ArrivalTimes {
  private readonly byStream = new Map<string, { offsets: number[]; times: number[] }>();

  static load(captureDir: string): ArrivalTimes | undefined {
    const p = join(captureDir, 'chunks.csv');
    if (!existsSync(p)) return undefined;
    const t = new ArrivalTimes();
    const lines = readFileSync(p, 'utf8').split('\n');
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (!line) continue;
      const [, time, conn, dir, offset] = line.split(',');
      const key = `${Number(conn)}.${dir}`;
      let s = t.byStream.get(key);
      if (!s) t.byStream.set(key, (s = { offsets: [], times: [] }));
      s.offsets.push(Number(offset));
      s.times.push(Number(time));
    }
    return t;
  }

  /** Arrival time of byte `offset` of connection `conn` in direction `dir`; undefined when unknown. */
  at(conn: number, dir: string, offset: number): number | undefined {
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
