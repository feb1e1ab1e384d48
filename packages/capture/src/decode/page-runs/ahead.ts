/**
 * Page runs found ahead: a worker thread reads the second half of a main stream file and finds
 * its runs of PAGE/ZERO records (page-run-worker.ts) while this thread decodes the first half; from where
 * they meet this thread takes each run whole (MainStreamDecoder.passPageRun) and decodes only what
 * lies between runs. For listings that leave page bytes out (dump): on a stream that is mostly
 * pages the two halves are read at once, on two cores.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { PageRun } from '@migwire/stream-codec';
import type { PageRunReport, PageRunWorkerData } from './page-run-worker.js';

/** Smaller files are decoded on one thread: a worker's start costs about what it would save. */
export const PAGE_RUNS_MIN_BYTES = 64 << 20;
/** Where the worker starts, as a share of the file: the two threads read at about the same pace. */
const SPLIT = 0.5;
/** How long the reader waits for the worker's next report before it goes on alone. */
const WAIT_MS = 2000;

export class PageRunsAhead {
  private readonly runs: PageRun[] = [];
  private head = 0;
  private readonly signal = new Int32Array(new SharedArrayBuffer(8));
  private seen = 0;
  private scanning = false;
  private at = Infinity;
  private done = false;

  /** Start the worker on the file's second half, or undefined where it would not pay (small file, one core). */
  static start(path: string, size: number, pageSize: number, minBytes = PAGE_RUNS_MIN_BYTES): PageRunsAhead | undefined {
    if (size < minBytes || availableParallelism() < 2) return undefined;
    return new PageRunsAhead(path, Math.floor(size * SPLIT), pageSize);
  }

  private readonly worker: Worker;
  private readonly port: MessagePort;

  private constructor(path: string, from: number, pageSize: number) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: PageRunWorkerData = { path, from, pageSize, port: port2, signal: this.signal.buffer as SharedArrayBuffer };
    this.worker = new Worker(new URL('./page-run-worker.js', import.meta.url), { workerData: data, transferList: [port2] });
    // Never what keeps the process alive; a worker that dies is a worker that is done.
    this.worker.unref();
    this.worker.on('error', () => this.stop());
    this.worker.on('exit', () => this.stop());
  }

  /** The first run reported that starts at or after `pos` (runs before it are dropped). */
  runFrom(pos: number): PageRun | undefined {
    this.poll();
    while (this.head < this.runs.length && this.runs[this.head]!.start < pos) this.runs[this.head++] = undefined as unknown as PageRun;
    if (this.head > 1024 && this.head === this.runs.length) {
      this.runs.length = 0;
      this.head = 0;
    }
    return this.runs[this.head];
  }

  /** Where the worker is scanning a run not yet reported (the reader should stop there), if anywhere. */
  scanningFrom(): number | undefined {
    return !this.done && this.scanning ? this.at : undefined;
  }

  /** Wait for the worker's next report; false when it gave none in time (then it is stopped). */
  async next(): Promise<boolean> {
    if (this.done) return false;
    const w = Atomics.waitAsync(this.signal, 0, this.seen, WAIT_MS);
    if (w.async) {
      // A pending waitAsync does not keep the process alive; the worker, referenced meanwhile, does.
      this.worker.ref();
      try {
        if ((await w.value) === 'timed-out') {
          this.stop();
          return false;
        }
      } finally {
        this.worker.unref();
      }
    }
    this.poll();
    return true;
  }

  stop(): void {
    // The worker ends on its own at its next read.
    Atomics.store(this.signal, 1, 1);
    if (this.done) return;
    this.done = true;
    // Wakes a reader waiting in next().
    Atomics.add(this.signal, 0, 1);
    Atomics.notify(this.signal, 0);
  }

  private poll(): void {
    this.seen = Atomics.load(this.signal, 0);
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
      const r = m.message as PageRunReport;
      for (const run of r.runs) this.runs.push(run);
      this.scanning = r.scanning;
      this.at = r.at;
      if (r.done) this.done = true;
    }
  }
}
