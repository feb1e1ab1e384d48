/**
 * Runs a codec campaign in worker threads and watches them: a worker whose heartbeat stops for
 * hangMs is stopped, its input recorded as a hang, and a new worker goes on after it. Findings'
 * inputs are rebuilt from their seed numbers and written out.
 */
import { writeFileSync } from 'node:fs';
import { makeDirs } from '@migwire/capture';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { mutate } from '../mutate.js';
import { seedLabel } from '../seed.js';
import type { MutationKind } from '../mutation.js';
import { emptyStats, groupSeeds, mergeStats, seedFor, type CodecFinding, type CodecStats } from './campaign.js';
import { defaultSeedSpecs, prepareSeed, prepareSeeds, type SeedSpec } from './seeds.js';
import { InputError } from '../../input-error.js';
import type { WorkerInput, WorkerMessage } from './fuzz-codec-worker.js';

export interface CodecCampaignOptions {
  count: number;
  /** Seed number of input 0. Default 1. */
  base?: number;
  specs?: SeedSpec[];
  kinds?: MutationKind[];
  /** Worker threads. Default 1 (the machine is shared). */
  jobs?: number;
  /** No heartbeat for this long: the input hangs. Default 10 s. */
  hangMs?: number;
  /** An input slower than this is reported. Default 2 s. */
  slowMs?: number;
  /** Write each finding's input and findings.json here. */
  outDir?: string;
  onProgress?: (stats: CodecStats) => void;
}

export async function runCodecCampaign(o: CodecCampaignOptions): Promise<CodecStats> {
  const specs = o.specs ?? defaultSeedSpecs();
  // Workers prepare their own seeds: one without any would only die, reported as a finding. One
  // usable seed is enough to go on, so only as many are prepared here as it takes to find it.
  if (!specs.length) throw new InputError('no seeds: the bundled fixtures are not here (an installed migwire carries none); give --seeds PATH[,PATH...] (stream files or capture directories)');
  if (!(await someSeedUsable(specs))) throw new InputError(`no usable seeds among ${specs.map((s) => s.path + (s.channel ? `:${s.channel}` : '')).join(', ')} (each must be a stream file or capture directory with a non-empty channel)`);
  const base = o.base ?? 1;
  const jobs = Math.max(1, Math.min(o.jobs ?? 1, o.count));
  const total = emptyStats();
  const t0 = performance.now();
  const per = Math.ceil(o.count / jobs);
  const ranges: Array<[number, number]> = [];
  for (let j = 0; j < jobs; j++) ranges.push([j * per, Math.min(o.count, (j + 1) * per)]);
  await Promise.all(
    ranges.map(([from, to]) =>
      runRange(specs, from, to, base, o, (part) => {
        mergeStats(total, part);
        total.ms = performance.now() - t0;
        o.onProgress?.(total);
      }),
    ),
  );
  total.ms = performance.now() - t0;
  // Every input ran; a worker stopped for a hang takes the counts of its last few inputs with it.
  total.counted = total.inputs;
  total.inputs = o.count;
  if (total.findings.some((f) => f.seed === '') || (o.outDir && total.findings.length)) await describeFindings(specs, base, total.findings, o.kinds, o.outDir);
  return total;
}

async function someSeedUsable(specs: readonly SeedSpec[]): Promise<boolean> {
  for (const s of specs) if (await prepareSeed(s)) return true;
  return false;
}

async function runRange(specs: SeedSpec[], from: number, to: number, base: number, o: CodecCampaignOptions, add: (s: CodecStats) => void): Promise<void> {
  let start = from;
  const hangMs = o.hangMs ?? 10_000;
  while (start < to) {
    const heartbeat = new SharedArrayBuffer(16);
    const beat = new Float64Array(heartbeat);
    beat[0] = start;
    const input: WorkerInput = { specs, from: start, to, base, slowMs: o.slowMs ?? 2000, heartbeat, ...(o.kinds ? { kinds: o.kinds } : {}) };
    const worker = new Worker(new URL('./fuzz-codec-worker.js', import.meta.url), { workerData: input });
    const ended = await new Promise<{ next: number; finding?: Omit<CodecFinding, 'seed' | 'decoder' | 'kind'> }>((resolve) => {
      let last = -1;
      let lastChange = performance.now();
      let done = false;
      const timer = setInterval(() => {
        if (beat[1] !== last) {
          last = beat[1]!;
          lastChange = performance.now();
        } else if (last >= 0 && performance.now() - lastChange > hangMs && !done) {
          done = true;
          clearInterval(timer);
          const i = beat[0]!;
          void worker.terminate();
          resolve({ next: i + 1, finding: { type: 'hang', n: base + i, message: `no progress for ${hangMs} ms` } });
        }
      }, 250);
      worker.on('message', (m: WorkerMessage) => {
        add(m.stats);
        if (m.type === 'done' && !done) {
          done = true;
          clearInterval(timer);
          resolve({ next: to });
        }
      });
      worker.on('error', (e) => {
        if (done) return;
        done = true;
        clearInterval(timer);
        const i = beat[0]!;
        resolve({ next: i + 1, finding: { type: 'exception', n: base + i, message: `worker died: ${e.message}` } });
      });
      worker.on('exit', () => {
        if (done) return;
        done = true;
        clearInterval(timer);
        const i = beat[0]!;
        resolve({ next: i + 1, finding: { type: 'exception', n: base + i, message: 'worker exited' } });
      });
    });
    if (ended.finding) {
      const s = emptyStats();
      s.findings.push({ ...ended.finding, decoder: 'main', seed: '', kind: null });
      add(s);
    }
    start = ended.next;
  }
}

/**
 * Name the seed and mutation of findings the supervisor made (hangs, dead workers), and with a
 * folder, rebuild each finding's input from its seed number and write it with findings.json.
 */
async function describeFindings(specs: SeedSpec[], base: number, findings: CodecFinding[], kinds: MutationKind[] | undefined, dir: string | undefined): Promise<void> {
  if (dir) makeDirs(dir);
  const seeds = await prepareSeeds(specs);
  const groups = groupSeeds(seeds);
  const out = findings.map((f, i) => {
    const cs = seedFor(groups, f.n - base);
    const m = mutate(cs.seed, f.n, kinds ? { kinds } : {});
    if (f.seed === '') {
      f.seed = seedLabel(cs.seed);
      f.decoder = cs.seed.channel;
      f.kind = m?.mutation.kind ?? null;
    }
    const file = `finding-${String(i).padStart(4, '0')}-${f.type}.bin`;
    if (dir) writeFileSync(join(dir, file), m ? m.bytes : cs.seed.bytes);
    return { ...f, seedSpec: cs.spec, file, mutation: m?.mutation ?? null };
  });
  if (!dir) return;
  writeFileSync(join(dir, 'findings.json'), JSON.stringify(out, null, 2) + '\n');
}
