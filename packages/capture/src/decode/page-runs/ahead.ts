/**
 * Page runs found ahead: worker threads read the later parts of a main stream file and find their
 * runs of PAGE/ZERO records (page-run-worker.ts) while this thread decodes the first part; as it
 * reaches each run it takes it whole (MainStreamDecoder.passPageRun) and decodes only what lies
 * between runs. For listings that leave page bytes out (dump): on a stream that is mostly pages,
 * the parts are read at once, one per core.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { PageRun } from '@migwire/stream-codec';
import type { PageRunReport, PageRunWorkerData } from './page-run-worker.js';

/** Smaller files are decoded on one thread: a worker's start costs about what it would save. */
export const PAGE_RUNS_MIN_BYTES = 64 << 20;
/** Parts of at least this many bytes (one worker at the least); at most this many workers. */
const MIN_PART_BYTES = 32 << 20;
const MAX_WORKERS = 8;
/** How long the reader waits for a worker's next report before it goes on alone. */
const WAIT_MS = 2000;

/** One worker and what it reported of its part [from, to). */
class Part {
  readonly runs: PageRun[] = [];
  head = 0;
  scanning = false;
  at = Infinity;
  done = false;
  readonly worker: Worker;
  readonly port: MessagePort;

  constructor(path: string, readonly from: number, readonly to: number, pageSize: number, signal: Int32Array, onEnd: () => void) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: PageRunWorkerData = { path, from, to, pageSize, port: port2, signal: signal.buffer as SharedArrayBuffer };
    this.worker = new Worker(new URL('./page-run-worker.js', import.meta.url), { workerData: data, transferList: [port2] });
    // Never what keeps the process alive; a worker that dies is a worker that is done.
    this.worker.unref();
    const end = (): void => {
      this.done = true;
      onEnd();
    };
    this.worker.on('error', end);
    this.worker.on('exit', end);
  }

  /** The first run reported that starts at or after `pos` (runs before it are dropped). */
  runFrom(pos: number): PageRun | undefined {
    while (this.head < this.runs.length && this.runs[this.head]!.start < pos) this.runs[this.head++] = undefined as unknown as PageRun;
    if (this.head > 1024 && this.head === this.runs.length) {
      this.runs.length = 0;
      this.head = 0;
    }
    return this.runs[this.head];
  }

  poll(): void {
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
      const r = m.message as PageRunReport;
      for (const run of r.runs) this.runs.push(run);
      this.scanning = r.scanning;
      this.at = r.at;
      if (r.done) this.done = true;
    }
  }
}

export class PageRunsAhead {
  private readonly parts: Part[] = [];
  /** [0]: bumped after every report of any worker, so the reader can wait for one; [1]: set when the reader is done. */
  private readonly signal = new Int32Array(new SharedArrayBuffer(8));
  private seen = 0;
  private stopped = false;

  /**
   * Start workers on the file past its first part (one per core beside this thread, `workers` when
   * given), or undefined where it would not pay (small file, one core).
   */
  static start(path: string, size: number, pageSize: number, minBytes = PAGE_RUNS_MIN_BYTES, workers?: number): PageRunsAhead | undefined {
    const cores = availableParallelism() - 1;
    const n = workers ?? Math.min(MAX_WORKERS, cores, Math.max(1, Math.floor(size / MIN_PART_BYTES) - 1));
    if (size < minBytes || n < 1) return undefined;
    return new PageRunsAhead(path, size, pageSize, n);
  }

  private constructor(path: string, size: number, pageSize: number, workers: number) {
    // This thread reads the first of workers + 1 equal parts; the last worker reads to the end.
    for (let i = 1; i <= workers; i++) {
      const from = Math.floor((size * i) / (workers + 1));
      const to = i === workers ? Infinity : Math.floor((size * (i + 1)) / (workers + 1));
      this.parts.push(new Part(path, from, to, pageSize, this.signal, () => this.wake()));
    }
  }

  /** The first run reported that starts at or after `pos`, if the worker that would find the next one has. */
  runFrom(pos: number): PageRun | undefined {
    this.poll();
    for (const p of this.parts) {
      if (p.to <= pos) continue;
      const run = p.runFrom(pos);
      // A part still at work may yet report a run before the next part's first.
      if (run || !p.done) return run;
    }
    return undefined;
  }

  /** Where the worker in charge of `pos` is scanning a run not yet reported (the reader should stop there), if anywhere. */
  scanningFrom(pos: number): number | undefined {
    const p = this.parts.find((x) => x.to > pos);
    return p && !p.done && p.scanning ? p.at : undefined;
  }

  /** Wait for a worker's next report; false when none came in time (then they are stopped) or all are done. */
  async next(): Promise<boolean> {
    if (this.stopped || this.parts.every((p) => p.done)) return false;
    const w = Atomics.waitAsync(this.signal, 0, this.seen, WAIT_MS);
    if (w.async) {
      // A pending waitAsync does not keep the process alive; the workers, referenced meanwhile, do.
      for (const p of this.parts) p.worker.ref();
      try {
        if ((await w.value) === 'timed-out') {
          this.stop();
          return false;
        }
      } finally {
        for (const p of this.parts) p.worker.unref();
      }
    }
    this.poll();
    return true;
  }

  stop(): void {
    // The workers end on their own at their next read.
    Atomics.store(this.signal, 1, 1);
    if (this.stopped) return;
    this.stopped = true;
    for (const p of this.parts) p.done = true;
    this.wake();
  }

  /** Wakes a reader waiting in next(). */
  private wake(): void {
    Atomics.add(this.signal, 0, 1);
    Atomics.notify(this.signal, 0);
  }

  private poll(): void {
    this.seen = Atomics.load(this.signal, 0);
    for (const p of this.parts) p.poll();
  }
}
