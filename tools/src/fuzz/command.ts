/** `migwire fuzz mutate | codec | qemu`: fixtures from real streams, our codec's robustness, QEMU's loader. */
import { writeFileSync } from 'node:fs';
import { makeDirs } from '@migwire/capture';
import { join } from 'node:path';
import type { Output } from '../cli-io.js';
import { runCodecCampaign } from '../fuzz/codec/supervisor.js';
import { defaultSeedSpecs, type SeedSpec } from '../fuzz/codec/seeds.js';
import { writeFixtures } from '../fuzz/manifest.js';
import { isMutationKind, kindsFor, MUTATION_KINDS, type MutationKind } from '../fuzz/mutation.js';
import { usableKinds } from '../fuzz/mutate.js';
import { fixtureDirs } from '../fuzz/paths.js';
import { runQemuCampaign } from '../fuzz/qemu/campaign.js';
import { reduceSeed } from '../fuzz/reduce.js';
import { codecReportLines, qemuReportLines } from '../fuzz/report.js';
import { loadSeed, type MainSeed } from '../fuzz/seed.js';
import { migrationOf } from '../commands/migration-option.js';
import { InputError } from '../input-error.js';
import { nameList, UsageError } from '../errors/usage-error.js';
import { bytesHuman } from '../format/human.js';
import { qemuBinary, type QemuVersion } from '@migwire/qemu';

export type FuzzValues = Record<string, string | boolean | string[] | undefined>;

/** A fuzz command line that cannot run: exit 2 like any usage error. */
export class FuzzUsageError extends UsageError {}

/** Default cap on what one `fuzz mutate` run writes (--max-bytes). */
export const DEFAULT_MUTATE_MAX_BYTES = 256 * 1024 * 1024;

function num(v: FuzzValues[string], name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isSafeInteger(n) || n < 0) throw new FuzzUsageError(`${name} needs a non-negative integer, got ${String(v)}`);
  return n;
}

export function parseKinds(v: FuzzValues[string]): MutationKind[] | undefined {
  if (v === undefined) return undefined;
  const list = (Array.isArray(v) ? v : [String(v)]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (!list.length) throw new FuzzUsageError(`--kinds names no mutation kind (kinds: ${Object.keys(MUTATION_KINDS).join(', ')})`);
  const bad = list.filter((k) => !isMutationKind(k));
  if (bad.length) throw new FuzzUsageError(`unknown mutation kind ${bad.join(', ')} (kinds: ${Object.keys(MUTATION_KINDS).join(', ')})`);
  return list as MutationKind[];
}

function list(v: FuzzValues[string]): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [String(v)]).flatMap((s) => s.split(',')).filter(Boolean);
}

/** PATH or PATH#CHANNEL. */
function seedSpec(s: string): SeedSpec {
  const i = s.lastIndexOf('#');
  return i < 0 ? { path: s } : { path: s.slice(0, i), channel: s.slice(i + 1) };
}

export async function fuzz(positionals: string[], v: FuzzValues, out: Output): Promise<number> {
  const [sub, ...rest] = positionals;
  switch (sub) {
    case 'mutate':
      return fuzzMutate(rest, v, out);
    case 'codec':
      if (rest.length) throw new FuzzUsageError('fuzz codec takes no PATH (use --seeds)');
      return fuzzCodec(v, out);
    case 'qemu':
      if (rest.length) throw new FuzzUsageError('fuzz qemu takes no PATH (use --seeds)');
      return fuzzQemu(v, out);
    default:
      throw new FuzzUsageError(`fuzz needs a subcommand: mutate, codec or qemu${sub ? ` (got ${sub})` : ''}`);
  }
}

async function fuzzMutate(rest: string[], v: FuzzValues, out: Output): Promise<number> {
  if (rest.length !== 1) throw new FuzzUsageError('fuzz mutate needs one SEED_STREAM');
  if (rest[0] === '-') throw new FuzzUsageError('fuzz mutate needs a stream file or capture directory as its seed, not standard input');
  if (typeof v['out'] !== 'string') throw new FuzzUsageError('fuzz mutate needs --out DIR');
  const count = num(v['count'], '--count', 100);
  const base = num(v['seed'], '--seed', 1);
  const kinds = parseKinds(v['kinds']);
  let seed = await loadSeed(rest[0]!, { ...(typeof v['channel'] === 'string' ? { channel: v['channel'] } : {}), migration: migrationOf(v['migration']) });
  const reduced = v['reduce'] === true;
  if (reduced) seed = reduceSeed(seed);
  const applicable = kindsFor(seed.channel);
  if (kinds && !usableKinds(seed, kinds).length) throw new FuzzUsageError(`--kinds ${kinds.join(',')}: none applies to a ${seed.channel} seed (kinds for it: ${nameList(applicable)})`);
  // Each mutant is about the seed's size: say what the run writes before writing, refuse above the cap.
  const maxBytes = num(v['max-bytes'], '--max-bytes', DEFAULT_MUTATE_MAX_BYTES);
  const estimate = count * seed.bytes.length;
  const about = `${count} fixtures of about ${bytesHuman(seed.bytes.length)}: about ${bytesHuman(estimate)} (${estimate} bytes)`;
  if (estimate > maxBytes) throw new FuzzUsageError(`fuzz mutate would write ${about}, over --max-bytes ${maxBytes}; lower --count, use --reduce, or raise --max-bytes`);
  if (v['quiet'] !== true) out.err(`fuzz mutate: writing ${about} to ${v['out']}`);
  const m = writeFixtures(seed, v['out'], { count, base, seedStream: rest[0]!, reduced, force: v['force'] === true, ...(kinds ? { kinds } : {}) });
  if (count > 0 && m.fixtures.length === 0) throw new FuzzUsageError(`--kinds ${kinds?.join(',') ?? 'all'}: no record of ${rest[0]!} fits (kinds for a ${seed.channel} seed: ${nameList(applicable)})`);
  if (v['json'] === true) out.line(JSON.stringify(m));
  else {
    const byKind = new Map<string, number>();
    for (const f of m.fixtures) byKind.set(f.mutation.kind, (byKind.get(f.mutation.kind) ?? 0) + 1);
    out.line(`wrote ${m.fixtures.length} fixtures of ${seed.name} (${seed.channel}, ${seed.bytes.length} bytes) to ${v['out']}, seeds ${base}..${base + count - 1}`);
    out.line(`kinds: ${[...byKind.entries()].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    out.line(`manifest: ${join(v['out'], 'manifest.json')}`);
  }
  return 0;
}

async function fuzzCodec(v: FuzzValues, out: Output): Promise<number> {
  const given = list(v['seeds']).map(seedSpec);
  // The default seeds are the repository's fixtures (an installed migwire has none: runCodecCampaign says so).
  const specs = given.length ? given : defaultSeedSpecs();
  const kinds = parseKinds(v['kinds']);
  const json = v['json'] === true;
  let lastLine = 0;
  const stats = await runCodecCampaign({
    count: num(v['count'], '--count', 100_000),
    base: num(v['seed'], '--seed', 1),
    specs,
    jobs: num(v['jobs'], '--jobs', 1),
    hangMs: num(v['hang-ms'], '--hang-ms', 10_000),
    ...(kinds ? { kinds } : {}),
    ...(typeof v['out'] === 'string' ? { outDir: v['out'] } : {}),
    onProgress: (s) => {
      if (v['quiet'] === true || Date.now() - lastLine < 10_000) return;
      lastLine = Date.now();
      out.err(`fuzz codec: ${s.inputs} inputs, ${(s.inputs / (s.ms / 1000)).toFixed(0)}/s, ${s.findings.length} findings`);
    },
  });
  if (json) out.line(JSON.stringify(stats));
  else for (const l of codecReportLines(stats)) out.line(l);
  if (typeof v['out'] === 'string') {
    makeDirs(v['out']);
    writeFileSync(join(v['out'], 'codec-report.json'), JSON.stringify(stats, null, 2) + '\n');
  }
  return stats.findings.length ? 1 : 0;
}

async function fuzzQemu(v: FuzzValues, out: Output): Promise<number> {
  if (typeof v['out'] !== 'string') throw new FuzzUsageError('fuzz qemu needs --out DIR');
  const qemu = (typeof v['qemu'] === 'string' ? v['qemu'] : '10.0') as QemuVersion;
  if (qemu !== '10.0' && qemu !== '7.2') throw new FuzzUsageError('--qemu is 10.0 or 7.2');
  if (!qemuBinary(qemu)) throw new InputError(`QEMU ${qemu} is not installed (run .ci/install-qemu.sh)`);
  const paths = list(v['seeds']);
  const seeds: MainSeed[] = [];
  for (const p of paths.length ? paths : fixtureDirs()) {
    let seed = await loadSeed(p);
    if (seed.channel !== 'main') throw new InputError(`${p}: fuzz qemu loads main-stream seeds`);
    if (!seed.target) throw new InputError(`${p}: no meta.json next to the stream says which machine and RAM size load it`);
    const needsChannels = Object.entries(seed.target.caps).filter(([c, on]) => on && /multifd|postcopy/.test(c));
    if (needsChannels.length) throw new InputError(`${p}: its migration ran with ${needsChannels.map(([c]) => c).join(', ')}: a main stream alone does not load (use a file or exec fixture)`);
    if (qemu === '7.2' && seed.target.qemu !== '7.2') {
      out.err(`fuzz qemu: skipping ${p}: a ${seed.target.qemu} stream does not load into QEMU 7.2`);
      continue;
    }
    if (v['reduce'] === true) seed = reduceSeed(seed);
    seeds.push(seed as MainSeed);
  }
  if (!seeds.length) throw new InputError('no usable seeds');
  const kinds = parseKinds(v['kinds']);
  const count = num(v['count'], '--count', 100);
  const report = await runQemuCampaign({
    seeds,
    count,
    base: num(v['seed'], '--seed', 1),
    qemu,
    timeoutMs: num(v['timeout'], '--timeout', 10_000),
    outDir: v['out'],
    ...(kinds ? { kinds } : {}),
    ...(v['minimise-runs'] !== undefined ? { minimiseRuns: num(v['minimise-runs'], '--minimise-runs', 24) } : {}),
    onResult: (r, done) => {
      if (v['quiet'] === true) return;
      if (r.outcome === 'crashed' || r.outcome === 'hung' || done % 50 === 0 || done === count) {
        out.err(`fuzz qemu: ${done}/${count}${r.outcome === 'crashed' || r.outcome === 'hung' ? ` ${r.outcome.toUpperCase()} (${r.mutation?.kind}): ${r.message}` : ''}`);
      }
    },
  });
  if (v['json'] === true) out.line(JSON.stringify(report));
  else for (const l of qemuReportLines(report)) out.line(l);
  return report.findings.length ? 1 : 0;
}
