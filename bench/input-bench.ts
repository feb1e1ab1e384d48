/**
 * Figures for the other ways in: a tcpdump capture of a migration (dump of the pcap, and import +
 * dump, each against dump of the capture directory itself) and `migwire report`'s analysis
 * (against a plain read of the same stream).
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { main as cli, type Output } from 'migwire';
import { analyzeCapture } from '@migwire/report';
import { plainRead } from './codec-bench.js';
import { measure, MiB, PAGE, record, type Measured } from './figures.js';
import { WORK } from './paths.js';
import { writePcapOf } from './pcap-file.js';
import { makeMainStream, makeMultifdCapture } from './synthetic.js';

const discard: Output = { line: () => {}, lineFrom: () => {}, err: () => {}, flush: () => {} };

export async function benchPcap(sizeMiB: number): Promise<void> {
  const dir = join(WORK, `multifd-none-${sizeMiB}`);
  if (!existsSync(join(dir, 'conn00.src2dst.bin'))) await makeMultifdCapture(dir, 'none', sizeMiB);
  const files = [0, 1, 2, 3, 4].map((c) => join(dir, `conn0${c}.src2dst.bin`));
  const pcap = join(WORK, `multifd-none-${sizeMiB}.pcap`);
  if (!existsSync(pcap)) await writePcapOf(files, pcap);
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const run = async (...argv: string[]): Promise<number> => {
    const code = await cli(argv, discard);
    if (code !== 0) throw new Error(`migwire ${argv.join(' ')} exited ${code}`);
    return bytes;
  };
  await plainRead(pcap);
  for (const f of files) await plainRead(f);
  // Interleaved, best of 3: the page cache and this machine's load drift between runs.
  let base: Measured | undefined;
  let fromPcap: Measured | undefined;
  const faster = (a: Measured | undefined, b: Measured): Measured => (a && a.seconds <= b.seconds ? a : b);
  for (let round = 0; round < 3; round++) {
    base = faster(base, await measure(() => run('dump', dir, '--no-summary')));
    fromPcap = faster(fromPcap, await measure(() => run('dump', pcap, '--no-summary')));
  }
  // check reads every page (digests: copies on different channels may race): against a plain read of the same files.
  let read: Measured | undefined;
  let check: Measured | undefined;
  for (let round = 0; round < 3; round++) {
    read = faster(read, await measure(async () => {
      for (const f of files) await plainRead(f);
      return bytes;
    }));
    check = faster(check, await measure(() => run('check', dir)));
  }
  record('plain read of the 5 channel files', read!, undefined, 'best of 3');
  record('check (main + 4 multifd, none), capture directory', check!, read, 'best of 3; every page digested', 'plain read');
  record('dump (main + 4 multifd, none), capture directory', base!, undefined, 'best of 3');
  record('dump of the same migration as a pcap', fromPcap!, base, 'best of 3; channels read by file position; target >= 80%', 'dump of the directory');
  const imported = join(WORK, 'pcap-imported');
  rmSync(imported, { recursive: true, force: true });
  const r = await measure(async () => {
    await run('import', pcap, '--out', imported, '--quiet');
    return run('dump', imported, '--no-summary');
  });
  record('import + dump of the pcap', r, base, 'import writes and hashes every byte', 'dump of the directory');
  rmSync(imported, { recursive: true, force: true });
}

export async function benchReport(sizeMiB: number): Promise<void> {
  const path = join(WORK, `main-${sizeMiB}.bin`);
  if (!existsSync(path)) await makeMainStream(path, sizeMiB);
  await plainRead(path);
  const base = await measure(() => plainRead(path));
  const r = await measure(async () => {
    const a = await analyzeCapture(path);
    const pages = a.rounds.reduce((n, x) => n + x.pages, 0);
    if (pages !== (sizeMiB * MiB) / PAGE) throw new Error(`report counted ${pages} pages`);
    return statSync(path).size;
  });
  record('report analysis (main stream)', r, base);
}
