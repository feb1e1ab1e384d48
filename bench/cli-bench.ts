/**
 * The commands users run, on a real QEMU stream of a 1 GiB guest (synthetic only without QEMU, and
 * then said), each in its own process, best of `rounds` with the jobs interleaved, against what
 * the same run measures on the same bytes: a plain read, a plain write of the same image bytes
 * into the same folder, a decode of every record doing nothing with them (for check), and QEMU's
 * analyze-migration.py when python3 and the script are there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { plainRead } from './codec-bench.js';
import { best, runChild, type ChildRun } from './child.js';
import { MiB, figures, measure, record, say } from './figures.js';
import { BENCH_DIST, ROOT, WORK } from './paths.js';
import { realQemuStream } from './qemu-stream.js';
import { makeMainStream, makeMultifdCapture } from './synthetic.js';

const MIGWIRE = join(ROOT, 'tools', 'bin', 'migwire.js');

/** QEMU's scripts/analyze-migration.py beside the repository (a baseline program only). */
function analyzeMigration(): string | undefined {
  const candidates = [process.env['MIGWIRE_ANALYZE_MIGRATION'], resolve(ROOT, '..', 'shared', 'baselines', 'analyze-migration.py')];
  const script = candidates.find((p): p is string => !!p && existsSync(p));
  if (!script) return undefined;
  return spawnSync('python3', ['--version']).status === 0 ? script : undefined;
}

interface Target {
  /** 'faster': baseline time / time >= x. 'within': time / baseline time <= x. */
  kind: 'faster' | 'within';
  x: number;
}

const secs = (r: ChildRun): string => `${r.seconds.toFixed(2)} s` + (r.cpuSeconds !== undefined ? ` (cpu ${r.cpuSeconds.toFixed(2)} s)` : '');

function timeFigure(name: string, bytes: number, r: ChildRun, base?: { name: string; run: ChildRun; target?: Target }): void {
  const parts = [`${name.padEnd(34)} ${secs(r).padEnd(24)}`, r.peakRssMiB !== undefined ? `peak RSS ${r.peakRssMiB.toFixed(0).padStart(4)} MiB` : ''];
  let ratio: number | undefined;
  if (base) {
    ratio = base.run.seconds / r.seconds;
    const t = base.target;
    const shown = t?.kind === 'within' ? `${(1 / ratio).toFixed(2)}x the time of ${base.name}` : `${ratio.toFixed(2)}x as fast as ${base.name}`;
    const ok = t ? (t.kind === 'faster' ? ratio >= t.x : 1 / ratio <= t.x) : undefined;
    parts.push(`  ${shown} (${secs(base.run)})${t ? `  target ${t.kind === 'faster' ? '>=' : '<='} ${t.x}x: ${ok ? 'met' : 'NOT met'}` : ''}`);
  }
  say(parts.join('  '));
  figures.push({
    name,
    bytes,
    seconds: r.seconds,
    mbPerSec: bytes / 1e6 / r.seconds,
    peakRssMiB: r.peakRssMiB ?? 0,
    ...(base && ratio !== undefined ? { baselineMbPerSec: bytes / 1e6 / base.run.seconds, ratio, note: `vs ${base.name}` } : {}),
  });
}

export async function benchCli(sizeMiB: number, rounds: number): Promise<void> {
  const real = await realQemuStream(WORK, sizeMiB, (s) => say(s)).catch((e: unknown) => {
    say(`could not make a real QEMU stream (${(e as Error).message}): using a synthetic one`);
    return undefined;
  });
  let stream: string;
  if (real) {
    stream = real.path;
    say(`CLI jobs on ${stream}: ${real.origin}, ${(statSync(stream).size / 1e6).toFixed(0)} MB`);
  } else {
    stream = join(WORK, `main-${sizeMiB}.bin`);
    if (!existsSync(stream)) await makeMainStream(stream, sizeMiB);
    say(`CLI jobs on a SYNTHETIC stream ${stream} (QEMU 10.0 not installed): figures are not comparable with a real one`);
  }
  const size = statSync(stream).size;
  await plainRead(stream); // warm the page cache
  record('plain read (the same stream, in-process)', await measure(() => plainRead(stream)));
  const py = analyzeMigration();
  if (!py) say('analyze-migration.py or python3 not found: no baseline from QEMU’s script');
  const node = process.execPath;
  const out = (n: string): string => {
    const d = join(WORK, n);
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
    return d;
  };
  const runs: Record<string, ChildRun[]> = {};
  const add = (k: string, r: ChildRun): void => {
    (runs[k] ??= []).push(r);
  };
  let imageBytes = 0;
  let imageSize = 0;
  for (let round = 0; round < rounds; round++) {
    add('dump', await runChild([node, MIGWIRE, 'dump', stream]));
    add('dump --json', await runChild([node, MIGWIRE, 'dump', stream, '--json']));
    if (py) add('py -d state', await runChild(['python3', py, '-d', 'state', '-f', stream]));
    add('decode only', await runChild([node, join(BENCH_DIST, 'decode-only.js'), stream]));
    add('check', await runChild([node, MIGWIRE, 'check', stream]));
    add('check --roundtrip', await runChild([node, MIGWIRE, 'check', '--roundtrip', stream]));
    // The writing jobs start from the same state: earlier outputs deleted and written back
    // (untimed `sync`), and the floor and extract take turns going first.
    const extractJob = async (): Promise<void> => {
      const ex = out('extract-out');
      spawnSync('sync');
      add('extract', await runChild([node, MIGWIRE, 'extract', stream, '--out', join(ex, 'img'), '--quiet']));
      // The floor writes as many bytes as extract put in its images (zero pages are holes in both).
      const blocks = JSON.parse(readFileSync(join(ex, 'img', 'blocks.json'), 'utf8')) as Array<{ pagesWritten: number; length: number }>;
      imageBytes = blocks.reduce((n, b) => n + b.pagesWritten * 4096, 0);
      imageSize = blocks.reduce((n, b) => n + b.length, 0);
      rmSync(ex, { recursive: true, force: true });
    };
    const floorJob = async (): Promise<void> => {
      const fl = out('write-floor');
      spawnSync('sync');
      add('floor', await runChild([node, join(BENCH_DIST, 'write-floor.js'), join(fl, 'image.img'), String(imageBytes), String(imageSize)]));
      rmSync(fl, { recursive: true, force: true });
    };
    if (round % 2 === 0 || imageBytes === 0) {
      await extractJob();
      await floorJob();
    } else {
      await floorJob();
      await extractJob();
    }
    if (py) {
      const pd = out('analyze-x');
      spawnSync('sync');
      add('py -x', await runChild(['python3', py, '-x', '-f', stream], { cwd: pd }));
      rmSync(pd, { recursive: true, force: true });
    }
  }
  const b = (k: string): ChildRun => best(runs[k]!);
  say(`best of ${rounds} rounds, each job in its own process (wall time; cpu = user + system):`);
  if (py) say(`${'analyze-migration.py -d state'.padEnd(34)} ${secs(b('py -d state'))}`);
  timeFigure('migwire dump', size, b('dump'), py ? { name: 'analyze-migration.py -d state', run: b('py -d state'), target: { kind: 'faster', x: 3 } } : undefined);
  timeFigure('migwire dump --json', size, b('dump --json'), py ? { name: 'analyze-migration.py -d state', run: b('py -d state'), target: { kind: 'faster', x: 2 } } : undefined);
  timeFigure('decode only (every record, nothing done)', size, b('decode only'));
  // At least 0.8 of decode-only throughput: at most 1.25x its time.
  timeFigure('migwire check', size, b('check'), { name: 'decode only', run: b('decode only'), target: { kind: 'within', x: 1.25 } });
  timeFigure('migwire check --roundtrip', size, b('check --roundtrip'), { name: 'decode only', run: b('decode only'), target: { kind: 'within', x: 1.25 } });
  timeFigure(`write ${(imageBytes / MiB).toFixed(0)} MiB of image (floor)`, imageBytes, b('floor'));
  timeFigure('migwire extract', imageBytes, b('extract'), { name: 'the write floor', run: b('floor'), target: { kind: 'within', x: 1.25 } });
  if (py) {
    say(`${'analyze-migration.py -x'.padEnd(34)} ${secs(b('py -x'))}`);
    timeFigure('migwire extract', imageBytes, b('extract'), { name: 'analyze-migration.py -x', run: b('py -x'), target: { kind: 'faster', x: 1.5 } });
  }
  for (const k of ['dump', 'dump --json', 'extract', 'check', 'check --roundtrip']) {
    const rss = b(k).peakRssMiB;
    if (rss !== undefined) say(`${`peak RSS, migwire ${k}`.padEnd(34)} ${rss.toFixed(0)} MiB  target < 200 MiB: ${rss < 200 ? 'met' : 'NOT met'}`);
  }
  await otherCommandsRss(node, stream, sizeMiB);
}

/**
 * Peak RSS of the commands that send (transcode, replay) and of report, once each on the same
 * stream: the senders into a local socket that reads and discards (the bench's own process). Also
 * transcode of a 4-channel multifd capture of the same size (plain files: its read buffers reused).
 */
async function otherCommandsRss(node: string, stream: string, sizeMiB: number): Promise<void> {
  const multifd = join(WORK, `multifd-none-${sizeMiB}`);
  if (!existsSync(join(multifd, 'conn00.src2dst.bin'))) await makeMultifdCapture(multifd, 'none', sizeMiB);
  const { createServer } = await import('node:net');
  const sink = createServer((s) => {
    s.on('data', () => {});
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  const target = `127.0.0.1:${(sink.address() as { port: number }).port}`;
  try {
    const jobs: Array<[string, string[]]> = [
      ['report --json', ['report', stream, '--json']],
      ['transcode (4 multifd, zlib)', ['transcode', stream, '--target', target, '--channels', '4', '--compression', 'zlib', '--quiet']],
      ['replay --timing fast', ['replay', stream, '--target', target, '--quiet']],
      ['transcode multifd capture -> 4 multifd', ['transcode', multifd, '--target', target, '--channels', '4', '--quiet']],
    ];
    for (const [name, argv] of jobs) {
      const rss = (await runChild([node, MIGWIRE, ...argv])).peakRssMiB;
      if (rss !== undefined) say(`${`peak RSS, migwire ${name}`.padEnd(34)} ${rss.toFixed(0)} MiB  target < 200 MiB: ${rss < 200 ? 'met' : 'NOT met'}`);
    }
  } finally {
    sink.close();
  }
}
