/** Bytes per channel in fixed bins over the timeline, and the markers on it (bounded in size). */
import type { MarkerKind, Timeline, TimelineMarker, TimelineUnit } from './types.js';

/** Return-path markers kept for the page (PONGs and page requests can run to thousands). */
const MAX_RP_MARKERS = 400;

export class TimelineBuilder {
  readonly unit: TimelineUnit;
  readonly #x0: number;
  readonly #width: number;
  readonly #bins: number;
  readonly #series = new Map<string, Float64Array>();
  /** Bytes the source sent (every src2dst channel), for bandwidth over a window. */
  readonly #sent: Float64Array;
  readonly #markers: TimelineMarker[] = [];
  #omitted = 0;
  #rpMarkers = 0;

  /** `x0`..`x1`: the timeline's extent (seconds, or MiB of the main stream). */
  constructor(unit: TimelineUnit, x0: number, x1: number, bins = 160) {
    this.unit = unit;
    this.#x0 = x0;
    this.#bins = bins;
    this.#width = Math.max(x1 - x0, 1e-6) / bins;
    this.#sent = new Float64Array(bins);
  }

  #bin(x: number): number {
    return Math.min(this.#bins - 1, Math.max(0, Math.floor((x - this.#x0) / this.#width)));
  }

  /** Source bytes per second over the `window` seconds up to `x` (at least one bin), like QEMU's periodic bandwidth figure. */
  sentRateBefore(x: number, window: number): number | undefined {
    if (this.unit !== 's') return undefined;
    const last = this.#bin(x);
    const n = Math.max(1, Math.round(window / this.#width));
    let bytes = 0;
    for (let i = Math.max(0, last - n + 1); i <= last; i++) bytes += this.#sent[i]!;
    return bytes / (Math.min(n, last + 1) * this.#width);
  }

  addBytes(channel: string, x: number | undefined, bytes: number, sent: boolean): void {
    if (x === undefined) return;
    let s = this.#series.get(channel);
    if (!s) this.#series.set(channel, (s = new Float64Array(this.#bins)));
    const i = this.#bin(x);
    s[i]! += bytes;
    if (sent) this.#sent[i]! += bytes;
  }

  mark(kind: MarkerKind, x: number | undefined, label: string, where?: { channel: string; offset: number }): void {
    if (x === undefined) return;
    if (kind === 'return-path' && this.#rpMarkers++ >= MAX_RP_MARKERS) {
      this.#omitted++;
      return;
    }
    this.#markers.push({ kind, x, label, ...where });
  }

  build(): Timeline {
    const perSecond = this.unit === 's' ? 1 / this.#width : 1;
    const x = Array.from({ length: this.#bins }, (_, i) => round6(this.#x0 + i * this.#width));
    const series = [...this.#series.entries()].map(([channel, v]) => ({ channel, values: Array.from(v, (b) => Math.round(b * perSecond)) }));
    const markers = [...this.#markers].sort((a, b) => a.x - b.x);
    return { unit: this.unit, x, binWidth: round6(this.#width), series, markers, markersOmitted: this.#omitted };
  }
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
