/** Postcopy page requests (return path) and how long each page took to arrive (main or preempt). */
import type { Collected } from './collect.js';
import type { PostcopyRequest, PostcopyStats, TimelineUnit } from './types.js';

/** Requests listed one by one in the analysis; the statistics cover all kept requests. */
const MAX_LISTED = 5000;
const HISTOGRAM_EDGES_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, Infinity];

export function postcopyStats(c: Collected, unit: TimelineUnit): PostcopyStats | undefined {
  if (c.postcopyListen === undefined && c.requestCount === 0) return undefined;
  const t = c.pages;
  const latencies: number[] = [];
  const requests: PostcopyRequest[] = [];
  let served = 0;
  let before = 0;
  let requestedPages = 0;
  for (const q of c.requests) {
    const pages = Math.max(1, Math.ceil(q.length / t.pageSize));
    requestedPages += pages;
    const req: PostcopyRequest = { x: q.x ?? Number.NaN, block: q.block, start: q.start, pages, arrivedBefore: false, offset: q.offset };
    const i = t.index(q.block, q.start);
    const main = i >= 0 && t.postcopyMain ? t.postcopyMain[i]! : Number.NaN;
    const preempt = i >= 0 && t.postcopyPreempt ? t.postcopyPreempt[i]! : Number.NaN;
    const arrivals = [main, preempt].filter((v) => !Number.isNaN(v));
    if (arrivals.length > 0) served++;
    if (unit === 's' && q.x !== undefined && arrivals.length > 0) {
      const after = [main, preempt].map((v) => (Number.isNaN(v) || v < q.x! ? Infinity : v));
      const first = Math.min(...after);
      if (first === Infinity) {
        req.arrivedBefore = true;
        before++;
      } else {
        req.latencyMs = (first - q.x) * 1000;
        req.via = first === after[1] ? 'postcopy-preempt' : 'main';
        latencies.push(req.latencyMs);
      }
    }
    if (requests.length < MAX_LISTED) requests.push(req);
  }
  const out: PostcopyStats = {
    requestCount: c.requestCount,
    requestedPages,
    pagesOnMain: c.postcopyPages.main,
    pagesOnPreempt: c.postcopyPages.preempt,
    servedCount: served,
    arrivedBeforeRequest: before,
    histogram: histogram(latencies),
    requests,
    requestsOmitted: c.requestCount - requests.length,
  };
  if (c.postcopyListen !== undefined && !Number.isNaN(c.postcopyListen)) out.listenAt = c.postcopyListen;
  if (c.postcopyRun !== undefined && !Number.isNaN(c.postcopyRun)) out.runAt = c.postcopyRun;
  if (latencies.length > 0) {
    const s = [...latencies].sort((a, b) => a - b);
    const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
    out.latencyMs = { min: s[0]!, median: q(0.5), p90: q(0.9), max: s[s.length - 1]! };
  }
  return out;
}

function histogram(latencies: number[]): PostcopyStats['histogram'] {
  const counts = HISTOGRAM_EDGES_MS.map(() => 0);
  for (const l of latencies) counts[HISTOGRAM_EDGES_MS.findIndex((e) => l <= e)]!++;
  // JSON has no Infinity: the last edge is written as the largest latency seen.
  const edgesMs = HISTOGRAM_EDGES_MS.map((e) => (e === Infinity ? latencies.reduce((m, l) => Math.max(m, l), 5000) : e));
  return { edgesMs, counts };
}
