/**
 * Figures of `pnpm bench`: each a throughput or a time, printed with the baseline it is compared
 * with (measured in the same run, on the same bytes) and the ratio, so a noisy machine still gives
 * comparable numbers. `--json` collects them instead of printing.
 */
export const MiB = 1024 * 1024;
export const PAGE = 4096;
/** Read size for both the baseline and the decoders: 256 KiB keeps a chunk in cache while it is decoded. */
export const CHUNK = 256 * 1024;

export interface Measured {
  bytes: number;
  seconds: number;
  peakRss: number;
}

export interface Figure {
  name: string;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  baselineMbPerSec?: number;
  ratio?: number;
  peakRssMiB: number;
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
  const t0 = process.hrtime.bigint();
  const bytes = await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { bytes, seconds, peakRss: peak };
}

/** A throughput figure, as a percentage of its baseline's. */
export function record(name: string, r: Measured, baseline?: { bytes: number; seconds: number }, note?: string, baselineName = 'plain read'): void {
  const mbPerSec = r.bytes / 1e6 / r.seconds;
  const f: Figure = { name, bytes: r.bytes, seconds: r.seconds, mbPerSec, peakRssMiB: r.peakRss / MiB };
  if (baseline) {
    f.baselineMbPerSec = baseline.bytes / 1e6 / baseline.seconds;
    f.ratio = mbPerSec / f.baselineMbPerSec;
  }
  if (note) f.note = note;
  figures.push(f);
  const ratio = f.ratio !== undefined ? `  ${(f.ratio * 100).toFixed(0)}% of ${baselineName} (${f.baselineMbPerSec!.toFixed(0)} MB/s)` : '';
  say(`${name.padEnd(44)} ${(r.bytes / MiB).toFixed(0).padStart(6)} MiB ${mbPerSec.toFixed(0).padStart(7)} MB/s${ratio}  peak RSS ${f.peakRssMiB.toFixed(0)} MiB${note ? `  (${note})` : ''}`);
}

/** a's throughput as a percentage of b's. */
export const pct = (a: { bytes: number; seconds: number }, b: { bytes: number; seconds: number }): string => `${Math.round((100 * (a.bytes / a.seconds)) / (b.bytes / b.seconds))}%`;
