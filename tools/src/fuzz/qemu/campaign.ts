/**
 * A campaign against real QEMU: input i mutates seed i mod seeds, is loaded into a fresh
 * destination and classified. Crashing and hanging inputs are kept (as mutated and minimised)
 * with a one-line reproduction; every outcome is appended to results.jsonl as it comes.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { makeDirs } from '@migwire/capture';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { qemuBinary, type QemuVersion } from '@migwire/qemu';
import { minimise, mainPieces } from '../minimise.js';
import { mutate } from '../mutate.js';
import type { Mutation, MutationKind } from '../mutation.js';
import { seedLabel, type MainSeed } from '../seed.js';
import { loadInQemu, reproductionCommand, type QemuOutcome, type QemuOutcomeClass } from './load.js';

export const OUTCOMES: readonly QemuOutcomeClass[] = ['loaded', 'rejected', 'crashed', 'hung'];

export interface QemuCampaignOptions {
  seeds: MainSeed[];
  count: number;
  base: number;
  kinds?: MutationKind[];
  qemu: QemuVersion;
  timeoutMs: number;
  outDir: string;
  /** QEMU runs allowed for shrinking one crashing or hanging input. Default 24 (hangs: 6). */
  minimiseRuns?: number;
  contMs?: number;
  onResult?: (r: QemuInputResult, done: number) => void;
}

export interface QemuInputResult {
  index: number;
  seed: string;
  /** Seed number: `migwire fuzz mutate SEED --seed N --count 1` rebuilds the input. */
  n: number;
  mutation: Mutation | null;
  outcome: QemuOutcomeClass;
  message: string;
  signal?: string;
  phase?: string;
  stderrTail?: string;
  ms: number;
  /** Crashes and hangs: the input, its minimised form and how to replay it. */
  file?: string;
  minimisedFile?: string;
  minimisedBytes?: number;
  reproduce?: string;
}

export interface QemuCampaignReport {
  qemu: { version: QemuVersion; versionString: string };
  inputs: number;
  ms: number;
  outcomes: Record<QemuOutcomeClass, number>;
  byKind: Record<string, Record<QemuOutcomeClass, number>>;
  /** Most frequent rejection messages (numbers folded to #). */
  topMessages: Array<{ message: string; count: number }>;
  findings: QemuInputResult[];
}

const zero = (): Record<QemuOutcomeClass, number> => ({ loaded: 0, rejected: 0, crashed: 0, hung: 0 });

export function foldNumbers(message: string): string {
  return message.replace(/0x[0-9a-f]+|\d+/gi, '#');
}

export async function runQemuCampaign(o: QemuCampaignOptions): Promise<QemuCampaignReport> {
  const binary = qemuBinary(o.qemu);
  if (!binary) throw new Error(`QEMU ${o.qemu} is not installed`);
  if (!o.seeds.length) throw new Error('no seeds');
  const dir = resolve(o.outDir);
  const keepDir = join(dir, 'findings');
  makeDirs(keepDir);
  const results = join(dir, 'results.jsonl');
  writeFileSync(results, '');
  const current = join(dir, 'current.bin');
  const report: QemuCampaignReport = { qemu: { version: o.qemu, versionString: binary.versionString }, inputs: 0, ms: 0, outcomes: zero(), byKind: {}, topMessages: [], findings: [] };
  const messages = new Map<string, number>();
  const t0 = performance.now();
  for (let i = 0; i < o.count; i++) {
    const seed = o.seeds[i % o.seeds.length]!;
    const target = seed.target!;
    const n = o.base + i;
    const m = mutate(seed, n, o.kinds ? { kinds: o.kinds } : {});
    const bytes = m ? m.bytes : seed.bytes;
    writeFileSync(current, bytes);
    const load = { qemu: o.qemu, target, timeoutMs: o.timeoutMs, ...(o.contMs !== undefined ? { contMs: o.contMs } : {}) };
    const out = await loadInQemu(current, load);
    const r: QemuInputResult = { index: i, seed: seedLabel(seed), n, mutation: m?.mutation ?? null, ...outcomeFields(out) };
    if (out.outcome === 'crashed' || out.outcome === 'hung') {
      const base = `${String(i).padStart(5, '0')}-${m?.mutation.kind ?? 'seed'}`;
      r.file = join(keepDir, `${base}.bin`);
      writeFileSync(r.file, bytes);
      const same = async (candidate: Uint8Array): Promise<boolean> => {
        const f = join(dir, 'candidate.bin');
        writeFileSync(f, candidate);
        const c = await loadInQemu(f, load);
        return c.outcome === out.outcome && c.signal === out.signal;
      };
      const budget = o.minimiseRuns ?? (out.outcome === 'hung' ? 6 : 24);
      const min = await minimise(bytes, mainPieces(bytes, m?.mutation.offset ?? 0), same, budget);
      r.minimisedFile = join(keepDir, `${base}.min.bin`);
      r.minimisedBytes = min.bytes.length;
      writeFileSync(r.minimisedFile, min.bytes);
      r.reproduce = reproductionCommand(binary, target, r.minimisedFile);
      writeFileSync(join(keepDir, `${base}.json`), JSON.stringify(r, null, 2) + '\n');
      report.findings.push(r);
    }
    report.inputs++;
    report.outcomes[out.outcome]++;
    const kind = m?.mutation.kind ?? 'none';
    (report.byKind[kind] ??= zero())[out.outcome]++;
    if (out.outcome === 'rejected') {
      const key = foldNumbers(out.message);
      messages.set(key, (messages.get(key) ?? 0) + 1);
    }
    appendFileSync(results, JSON.stringify(r) + '\n');
    o.onResult?.(r, i + 1);
  }
  report.ms = performance.now() - t0;
  report.topMessages = [...messages.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([message, count]) => ({ message, count }));
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}

function outcomeFields(o: QemuOutcome): Pick<QemuInputResult, 'outcome' | 'message' | 'signal' | 'phase' | 'stderrTail' | 'ms'> {
  return {
    outcome: o.outcome,
    message: o.message,
    ms: Math.round(o.ms),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.phase ? { phase: o.phase } : {}),
    ...(o.stderrTail && (o.outcome === 'crashed' || o.outcome === 'hung') ? { stderrTail: o.stderrTail } : {}),
  };
}
