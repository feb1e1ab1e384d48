/**
 * The codec campaign's inner loop: input n is a mutant of one seed (decoders take turns), fed in
 * random chunks. Every input must end in records or a CodecError, hold no more than its limits,
 * and leave a decoder whose reset() decodes the seed again. Anything else is a finding.
 */
import { performance } from 'node:perf_hooks';
import { mutate } from '../mutate.js';
import { BYTE_LEVEL_KINDS, type Mutation, type MutationKind } from '../mutation.js';
import { Prng } from '../prng.js';
import { seedLabel, type SeedChannel } from '../seed.js';
import { feedInput, resetDecodesSeed } from './feed.js';
import type { CodecSeed } from './seeds.js';

export type FindingType = 'exception' | 'held' | 'reset' | 'offset' | 'slow' | 'hang';

export interface CodecFinding {
  type: FindingType;
  decoder: SeedChannel;
  seed: string;
  /** Seed number: `migwire fuzz mutate SEED [--channel C] --reduce --seed N --count 1` rebuilds the input. */
  n: number;
  kind: MutationKind | null;
  message: string;
}

export interface DecoderStats {
  inputs: number;
  decoded: number;
  errors: Record<string, number>;
  bytes: number;
  maxHeld: number;
  maxMs: number;
}

export interface CodecStats {
  inputs: number;
  /** Inputs whose outcome is in the per-decoder counts (less than `inputs` after a hang). */
  counted?: number;
  ms: number;
  decoders: Partial<Record<SeedChannel, DecoderStats>>;
  /** MultifdPageDecoder: packets whose pages it produced, and its typed errors. */
  pages: { packets: number; errors: Record<string, number> };
  kinds: Record<string, { inputs: number; decoded: number }>;
  resetChecks: number;
  slowest: { ms: number; seed: string; n: number; kind: string | null };
  findings: CodecFinding[];
}

export interface RangeOptions {
  /** Seed number of input 0; input i uses base + i. */
  base: number;
  kinds?: readonly MutationKind[];
  /** An input slower than this is a finding (the watchdog catches real hangs). Default 2000 ms. */
  slowMs?: number;
  /** Check reset() after one error in this many. Default 4. */
  resetEvery?: number;
  /** Called before each input (the watchdog's heartbeat). */
  onInput?: (i: number) => void;
}

/**
 * Multifd pages are produced for one input in eight, and for every input whose bytes changed inside
 * a payload: inflating is most of a multifd input's cost, and header mutations are decided before it.
 */
function wantPages(cs: CodecSeed, n: number, m: Mutation | undefined): boolean {
  if (n % 8 === 0) return true;
  if (!m || !BYTE_LEVEL_KINDS.includes(m.kind) || cs.seed.channel !== 'multifd') return false;
  return cs.seed.records.some((r) => r.kind !== 'multifd-init' && m.offset >= r.offset + r.length - r.payload.length && m.offset < r.offset + r.length);
}

export function emptyStats(): CodecStats {
  return { inputs: 0, ms: 0, decoders: {}, pages: { packets: 0, errors: {} }, kinds: {}, resetChecks: 0, slowest: { ms: 0, seed: '', n: 0, kind: null }, findings: [] };
}

export function groupSeeds(seeds: readonly CodecSeed[]): CodecSeed[][] {
  const by = new Map<SeedChannel, CodecSeed[]>();
  for (const s of seeds) {
    const g = by.get(s.seed.channel) ?? [];
    g.push(s);
    by.set(s.seed.channel, g);
  }
  return (['main', 'return-path', 'multifd'] as const).map((c) => by.get(c)).filter((g): g is CodecSeed[] => g !== undefined);
}

/** Which seed input i mutates: channels take turns, then the seeds within a channel. */
export function seedFor(groups: readonly CodecSeed[][], i: number): CodecSeed {
  const g = groups[i % groups.length]!;
  return g[Math.floor(i / groups.length) % g.length]!;
}

export function runCodecRange(seeds: readonly CodecSeed[], from: number, to: number, o: RangeOptions, stats: CodecStats = emptyStats()): CodecStats {
  const groups = groupSeeds(seeds);
  if (!groups.length) throw new Error('no seeds');
  const slowMs = o.slowMs ?? 2000;
  const resetEvery = o.resetEvery ?? 4;
  const t0 = performance.now();
  let errorsSeen = 0;
  for (let i = from; i < to; i++) {
    o.onInput?.(i);
    const cs = seedFor(groups, i);
    const n = o.base + i;
    const m = mutate(cs.seed, n, o.kinds ? { kinds: o.kinds } : {});
    const bytes = m ? m.bytes : cs.seed.bytes;
    const kind = m ? m.mutation.kind : null;
    const channel = cs.seed.channel;
    const d = (stats.decoders[channel] ??= { inputs: 0, decoded: 0, errors: {}, bytes: 0, maxHeld: 0, maxMs: 0 });
    const k = (stats.kinds[kind ?? 'none'] ??= { inputs: 0, decoded: 0 });
    const finding = (type: FindingType, message: string): void => {
      stats.findings.push({ type, decoder: channel, seed: seedLabel(cs.seed), n, kind, message });
    };
    const start = performance.now();
    try {
      const r = feedInput(cs, bytes, new Prng(n + 0x1_0000_0000), channel !== 'multifd' || wantPages(cs, n, m?.mutation));
      const ms = performance.now() - start;
      d.inputs++;
      k.inputs++;
      d.bytes += bytes.length;
      if (ms > d.maxMs) d.maxMs = ms;
      if (ms > stats.slowest.ms) stats.slowest = { ms, seed: seedLabel(cs.seed), n, kind };
      if (ms > slowMs) finding('slow', `${ms.toFixed(0)} ms for ${bytes.length} bytes${r.pageMs ? `, ${r.pageMs.toFixed(0)} ms of it in MultifdPageDecoder` : ''}`);
      if (r.maxHeld > d.maxHeld) d.maxHeld = r.maxHeld;
      if (r.maxHeld > cs.maxHeld) finding('held', `decoder held ${r.maxHeld} bytes, limit allows ${cs.maxHeld}`);
      if (r.pagePackets) stats.pages.packets += r.pagePackets;
      if (r.pageCode) stats.pages.errors[r.pageCode] = (stats.pages.errors[r.pageCode] ?? 0) + 1;
      if (r.code === undefined) {
        d.decoded++;
        k.decoded++;
      } else {
        d.errors[r.code] = (d.errors[r.code] ?? 0) + 1;
        const e = r.error!;
        if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset > bytes.length) finding('offset', `${e.code} at offset ${e.offset} of a ${bytes.length}-byte input`);
        if (r.failed && errorsSeen++ % resetEvery === 0) {
          stats.resetChecks++;
          const bad = resetDecodesSeed(r.failed, cs.seed.bytes);
          if (bad) finding('reset', `reset() decoder fails on the seed: ${bad}`);
        }
      }
    } catch (e) {
      d.inputs++;
      k.inputs++;
      finding('exception', e instanceof Error ? `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}` : String(e));
    }
  }
  stats.inputs += to - from;
  stats.ms += performance.now() - t0;
  return stats;
}

/** Add `b` into `a`. */
export function mergeStats(a: CodecStats, b: CodecStats): CodecStats {
  a.inputs += b.inputs;
  a.ms += b.ms;
  for (const [c, s] of Object.entries(b.decoders) as [SeedChannel, DecoderStats][]) {
    const t = (a.decoders[c] ??= { inputs: 0, decoded: 0, errors: {}, bytes: 0, maxHeld: 0, maxMs: 0 });
    t.inputs += s.inputs;
    t.decoded += s.decoded;
    t.bytes += s.bytes;
    t.maxHeld = Math.max(t.maxHeld, s.maxHeld);
    t.maxMs = Math.max(t.maxMs, s.maxMs);
    for (const [code, n] of Object.entries(s.errors)) t.errors[code] = (t.errors[code] ?? 0) + n;
  }
  a.pages.packets += b.pages.packets;
  for (const [code, n] of Object.entries(b.pages.errors)) a.pages.errors[code] = (a.pages.errors[code] ?? 0) + n;
  for (const [k, s] of Object.entries(b.kinds)) {
    const t = (a.kinds[k] ??= { inputs: 0, decoded: 0 });
    t.inputs += s.inputs;
    t.decoded += s.decoded;
  }
  a.resetChecks += b.resetChecks;
  if (b.slowest.ms > a.slowest.ms) a.slowest = b.slowest;
  a.findings.push(...b.findings);
  return a;
}
