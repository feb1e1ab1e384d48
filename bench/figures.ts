/**
 * Figures of `pnpm bench`: each a throughput or a time, printed with the baseline it is compared
 * with (measured in the same run, on the same bytes) and the ratio, so a noisy machine still gives
 * comparable numbers. `--json` collects them instead of printing.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
export const MiB = 1024 * 1024;
export const PAGE = 4096;
/** Read size for both the baseline and the decoders: 256 KiB keeps a chunk in cache while it is decoded. */
export const CHUNK = 256 * 1024;

export interface Measured {
  bytes: number;
  seconds: number;
  peakRss: number;
  /** CPU seconds every process on the machine used meanwhile (Linux: /proc/stat), when known. */
  machineCpu?: number;
}

/** CPU seconds the whole machine has used since boot (all cores, every process and the kernel), or undefined off Linux. */
function machineCpuSeconds(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: all but idle and iowait were busy.
    const busy = fields.slice(0, 8).reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!;
    return busy / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** How busy the machine was for a measurement: its CPU seconds per GiB moved, and of how many it had. */
export function cpuNote(m: Measured): string {
  if (m.machineCpu === undefined) return '';
  const perGiB = (m.machineCpu * 1024 * MiB) / m.bytes;
  return `machine CPU ${perGiB.toFixed(2)} s/GiB, ${Math.round((100 * m.machineCpu) / (m.seconds * cpus().length))}% of ${cpus().length} cores`;
}

export interface Figure {
  name: string;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  baselineMbPerSec?: number;
  ratio?: number;
  peakRssMiB: number;
  /** CPU seconds the whole machine used during the measurement, when known. */
  machineCpuSeconds?: number;
  note?: string;
}

export const figures: Figure[] = [];
export const settings = { asJson: false };

export function say(text: string): void {
  if (!settings.asJson) console.log(text);
}

/** Peak RSS of this process while `fn` runs, sampled every 20 ms. */
export async function measure(fn: () => Promise<number>): Promise<Measured> {
  global.gc?.();
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const cpu0 = machineCpuSeconds();
  const t0 = process.hrtime.bigint();
  const bytes = await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = machineCpuSeconds();
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { bytes, seconds, peakRss: peak, ...(cpu0 !== undefined && cpu1 !== undefined ? { machineCpu: cpu1 - cpu0 } : {}) };
}

/** A throughput figure, as a percentage of its baseline's. */
export function record(name: string, r: Measured, baseline?: { bytes: number; seconds: number }, note?: string, baselineName = 'plain read'): void {
  const mbPerSec = r.bytes / 1e6 / r.seconds;
  const f: Figure = { name, bytes: r.bytes, seconds: r.seconds, mbPerSec, peakRssMiB: r.peakRss / MiB };
  if (baseline) {
    f.baselineMbPerSec = baseline.bytes / 1e6 / baseline.seconds;
    f.ratio = mbPerSec / f.baselineMbPerSec;
  }
  if (r.machineCpu !== undefined) f.machineCpuSeconds = r.machineCpu;
  if (note) f.note = note;
  figures.push(f);
  const ratio = f.ratio !== undefined ? `  ${(f.ratio * 100).toFixed(0)}% of ${baselineName} (${f.baselineMbPerSec!.toFixed(0)} MB/s)` : '';
  say(`${name.padEnd(44)} ${(r.bytes / MiB).toFixed(0).padStart(6)} MiB ${mbPerSec.toFixed(0).padStart(7)} MB/s${ratio}  peak RSS ${f.peakRssMiB.toFixed(0)} MiB${note ? `  (${note})` : ''}`);
}

/** a's throughput as a percentage of b's. */
export const pct = (a: { bytes: number; seconds: number }, b: { bytes: number; seconds: number }): string => `${Math.round((100 * (a.bytes / a.seconds)) / (b.bytes / b.seconds))}%`;
