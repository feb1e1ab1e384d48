/** Per-round figures and hot pages, from what the decode pass counted. */
import type { Collected } from './collect.js';
import type { HotPages, HotRange, RoundStats, TimelineUnit } from './types.js';

/** Hot ranges are counted in 1 MiB pieces of each block. */
const RANGE_BYTES = 1024 * 1024;
const TOP_RANGES = 12;

export function roundStats(c: Collected, unit: TimelineUnit): RoundStats[] {
  const t = c.pages;
  const firstSends = new Map<number, number>();
  for (let i = 0; i < t.size; i++) if (t.sends[i]! > 0) firstSends.set(t.firstRound[i]!, (firstSends.get(t.firstRound[i]!) ?? 0) + 1);
  const keys = [...c.rounds.keys()].sort((a, b) => a - b);
  const out: RoundStats[] = [];
  let prevEnd: number | undefined;
  keys.forEach((round, k) => {
    const a = c.rounds.get(round)!;
    const s: RoundStats = {
      round,
      pages: a.pages,
      zeroPages: a.zeroPages,
      xbzrlePages: a.xbzrlePages,
      resentPages: a.pages - (firstSends.get(round) ?? 0),
      bytes: a.bytes,
      perChannel: a.perChannel,
    };
    if (a.start !== undefined) s.start = a.start;
    if (a.end !== undefined) s.end = a.end;
    const from = prevEnd ?? a.start;
    if (unit === 's' && from !== undefined && a.end !== undefined && a.end > from) {
      const seconds = a.end - from;
      s.bandwidth = a.bytes / seconds;
      const next = keys[k + 1] === undefined ? undefined : c.rounds.get(keys[k + 1]!);
      // What the next round sends is what the guest dirtied while this one ran.
      if (next) s.dirtyRate = (next.pages * t.pageSize) / seconds;
    }
    if (a.end !== undefined) prevEnd = a.end;
    out.push(s);
  });
  return out;
}

export function hotPages(c: Collected): HotPages {
  const t = c.pages;
  const perRange = Math.max(1, Math.floor(RANGE_BYTES / t.pageSize));
  let resentPages = 0;
  const blocks: HotPages['blocks'] = [];
  const ranges: HotRange[] = [];
  for (const b of t.blocks) {
    let sends = 0;
    let resent = 0;
    for (let r = 0; r < b.pages; r += perRange) {
      let rangeSends = 0;
      const end = Math.min(b.pages, r + perRange);
      for (let p = r; p < end; p++) {
        const i = b.base + p;
        const n = t.sends[i]!;
        rangeSends += n;
        if (n > 0 && t.lastRound[i]! > t.firstRound[i]!) resent++;
      }
      sends += rangeSends;
      if (rangeSends > 0) ranges.push({ block: b.name, start: r * t.pageSize, end: end * t.pageSize, sends: rangeSends, perPage: rangeSends / (end - r) });
    }
    resentPages += resent;
    if (sends > 0) blocks.push({ block: b.name, pages: b.pages, sends, resent });
  }
  blocks.sort((a, b) => b.sends - a.sends);
  ranges.sort((a, b) => b.perPage - a.perPage || b.sends - a.sends);
  return { blocks, ranges: ranges.slice(0, TOP_RANGES), rangeBytes: perRange * t.pageSize, resentPages };
}
