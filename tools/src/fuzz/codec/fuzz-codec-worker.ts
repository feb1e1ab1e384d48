/**
 * Worker thread of a codec campaign: runs inputs [from, to) and writes its position into shared
 * memory before each, so the supervisor can tell a hang from slow progress and name the input.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MutationKind } from '../mutation.js';
import { emptyStats, runCodecRange, type CodecStats } from './campaign.js';
import { prepareSeeds, type SeedSpec } from './seeds.js';

export interface WorkerInput {
  specs: SeedSpec[];
  from: number;
  to: number;
  base: number;
  kinds?: MutationKind[];
  slowMs: number;
  /** [0]: input being decoded, [1]: inputs started (Float64 so a billion inputs fit). */
  heartbeat: SharedArrayBuffer;
}

export type WorkerMessage = { type: 'progress'; stats: CodecStats } | { type: 'done'; stats: CodecStats };

/** Inputs per progress message: a hang loses at most this many from the counts. */
const PROGRESS_EVERY = 250;

if (parentPort && workerData) {
  const w = workerData as WorkerInput;
  const beat = new Float64Array(w.heartbeat);
  const seeds = await prepareSeeds(w.specs);
  for (let at = w.from; at < w.to; at += PROGRESS_EVERY) {
    const end = Math.min(w.to, at + PROGRESS_EVERY);
    const part = runCodecRange(seeds, at, end, {
      base: w.base,
      slowMs: w.slowMs,
      ...(w.kinds ? { kinds: w.kinds } : {}),
      onInput: (i) => {
        beat[0] = i;
        beat[1]! += 1;
      },
    });
    parentPort.postMessage({ type: 'progress', stats: part } satisfies WorkerMessage);
  }
  parentPort.postMessage({ type: 'done', stats: emptyStats() } satisfies WorkerMessage);
}
