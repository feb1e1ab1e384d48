/**
 * Running one command of the bench in its own process and taking its wall time, CPU time and peak
 * RSS (through /usr/bin/time when the machine has it; wall time alone otherwise).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { WORK } from './paths.js';

export interface ChildRun {
  seconds: number;
  cpuSeconds?: number;
  peakRssMiB?: number;
}

const TIME = '/usr/bin/time';

export async function runChild(argv: string[], o: { cwd?: string; stdout?: string } = {}): Promise<ChildRun> {
  const usage = join(WORK, 'child-usage.txt');
  rmSync(usage, { force: true });
  const timed = existsSync(TIME) ? [TIME, '-f', '%U %S %M', '-o', usage, ...argv] : argv;
  const out = openSync(o.stdout ?? '/dev/null', 'w');
  const t0 = process.hrtime.bigint();
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const p = spawn(timed[0]!, timed.slice(1), { cwd: o.cwd ?? process.cwd(), stdio: ['ignore', out, 'pipe'] });
      let err = '';
      p.stderr?.on('data', (d: Buffer) => {
        if (err.length < 4096) err += d.toString();
      });
      p.on('error', reject);
      p.on('close', (c) => (c === 0 ? resolve(c) : reject(new Error(`${argv.join(' ')} exited ${c}: ${err.trim()}`))));
    });
    void code;
  } finally {
    closeSync(out);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!existsSync(usage)) return { seconds };
  const last = readFileSync(usage, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds, cpuSeconds: last[0]! + last[1]!, peakRssMiB: last[2]! / 1024 };
}

/** Best (shortest) of several runs; peak RSS is the largest seen. */
export function best(runs: ChildRun[]): ChildRun {
  const b = runs.reduce((a, r) => (r.seconds < a.seconds ? r : a));
  const rss = runs.map((r) => r.peakRssMiB ?? 0);
  return { ...b, ...(b.peakRssMiB !== undefined ? { peakRssMiB: Math.max(...rss) } : {}) };
}
