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
/**
 * This thread reads a part of the file as large as a worker's, but half of one when each run comes
 * with every record's numbers (detail): the reader then has a line to write per page.
 */
const DETAIL_READER_SHARE = 0.5;
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

  /** `onReport`: a report came in (or the worker ended), for a reader waiting for one. */
  constructor(path: string, readonly from: number, readonly to: number, pageSize: number, detail: boolean, stop: Int32Array, onReport: () => void) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: PageRunWorkerData = { path, from, to, pageSize, detail, port: port2, signal: stop.buffer as SharedArrayBuffer };
    this.worker = new Worker(new URL('./page-run-worker.js', import.meta.url), { workerData: data, transferList: [port2] });
    // Reports come as events while the reader waits, and are taken at once (poll) while it reads.
    // Neither the worker nor its port is what keeps the process alive; a worker that dies is done.
    this.port.on('message', (m: PageRunReport) => {
      this.take(m);
      onReport();
    });
    this.port.unref();
    this.worker.unref();
    const end = (): void => {
      this.done = true;
      onReport();
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

  /** Reports already sent, taken now (the reader reads synchronously between its waits). */
  poll(): void {
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) this.take(m.message as PageRunReport);
  }

  private take(r: PageRunReport): void {
    for (const run of r.runs) this.runs.push(run);
    this.scanning = r.scanning;
    this.at = r.at;
    if (r.done) this.done = true;
  }
}

export class PageRunsAhead {
  private readonly parts: Part[] = [];
  /** [0]: set when the reader is done (the workers look between reads). */
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  /** Reports (and worker ends) so far, and as of the reader's last look. */
  private reports = 0;
  private seen = 0;
  /** The reader waiting in next(). */
  private waiter: (() => void) | undefined;
  private stopped = false;

  /**
   * Start workers on the file past its first part (one per core beside this thread, `workers` when
   * given), or undefined where it would not pay (small file, one core). `detail`: runs carry every record (PageRun.detail).
   */
  static start(path: string, size: number, pageSize: number, minBytes = PAGE_RUNS_MIN_BYTES, workers?: number, detail = false): PageRunsAhead | undefined {
    const cores = availableParallelism() - 1;
    const n = workers ?? Math.min(MAX_WORKERS, cores, Math.max(1, Math.floor(size / MIN_PART_BYTES) - 1));
    if (size < minBytes || n < 1) return undefined;
    return new PageRunsAhead(path, size, pageSize, n, detail);
  }

  private constructor(path: string, size: number, pageSize: number, workers: number, detail: boolean) {
    // This thread reads the first part, the workers equal parts of the rest; the last worker reads to the end.
    const own = (detail ? DETAIL_READER_SHARE : 1) / (workers + 1);
    const edge = (i: number): number => Math.floor(size * (own + ((1 - own) * (i - 1)) / workers));
    for (let i = 1; i <= workers; i++) {
      const from = edge(i);
      const to = i === workers ? Infinity : edge(i + 1);
      this.parts.push(new Part(path, from, to, pageSize, detail, this.stopFlag, () => this.wake()));
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

  /**
   * Wait for a worker's next report; false when none came in time (then they are stopped) or all
   * are done. Not Atomics.waitAsync: with its timeout pending, Node 20 sometimes never exited
   * (the main thread stuck draining platform tasks after the command was done).
   */
  async next(): Promise<boolean> {
    if (this.stopped || this.parts.every((p) => p.done)) return false;
    if (this.reports === this.seen) {
      // The timer keeps the process alive while it waits (workers and ports do not).
      let timer: NodeJS.Timeout | undefined;
      const came = await new Promise<boolean>((resolve) => {
        this.waiter = () => resolve(true);
        timer = setTimeout(() => resolve(false), WAIT_MS);
      });
      clearTimeout(timer);
      this.waiter = undefined;
      if (!came) {
        this.stop();
        return false;
      }
    }
    this.poll();
    return true;
  }

  stop(): void {
    // The workers end on their own at their next read.
    Atomics.store(this.stopFlag, 0, 1);
    if (this.stopped) return;
    this.stopped = true;
    for (const p of this.parts) p.done = true;
    this.wake();
  }

  /** A report came in, or a worker ended: wakes a reader waiting in next(). */
  private wake(): void {
    this.reports++;
    this.waiter?.();
  }

  private poll(): void {
    for (const p of this.parts) p.poll();
    this.seen = this.reports;
  }
}
