/**
 * `pnpm bench`: throughput, time and memory of the codec and of the commands users run, each as a
 * figure and as a ratio to a baseline measured in the same run on the same bytes (a plain read, a
 * plain write, a blind relay, QEMU's analyze-migration.py), so noisy machines still give
 * comparable numbers.
 *
 *   node bench/dist/run.js [--size-mib N] [--rounds N] [--only NAME,...] [--json]
 *
 * NAME: cli (dump/extract on a real QEMU stream), main, transcode, multifd-none, multifd-zlib,
 * multifd-zstd, extract (of the multifd capture), pcap, report, record, replay. Inputs are kept in .cache/bench.
 */
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { benchCli } from './cli-bench.js';
import { benchCodec } from './codec-bench.js';
import { benchPcap, benchReport } from './input-bench.js';
import { figures, say, settings } from './figures.js';
import { WORK } from './paths.js';
import { benchRecord } from './record-bench.js';
import { benchReplay } from './replay-bench.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const sizeMiB = Number(option('--size-mib') ?? 0) || 1024;
const rounds = Number(option('--rounds') ?? 0) || 3;
const only = option('--only') ? new Set(option('--only')!.split(',')) : undefined;
settings.asJson = args.includes('--json');
const want = (name: string): boolean => !only || only.has(name);

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  say(`migwire bench: ${sizeMiB} MiB guest streams in ${WORK} (Node ${process.version}, ${cpus().length} cores: ${cpus()[0]?.model ?? '?'})`);
  if (want('cli')) await benchCli(sizeMiB, rounds);
  await benchCodec(sizeMiB, want);
  if (want('pcap')) await benchPcap(sizeMiB);
  if (want('report')) await benchReport(sizeMiB);
  if (want('record')) await benchRecord(sizeMiB);
  if (want('replay')) await benchReplay(sizeMiB);
  if (settings.asJson) console.log(JSON.stringify({ sizeMiB, node: process.version, cores: cpus().length, figures }, null, 2));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
