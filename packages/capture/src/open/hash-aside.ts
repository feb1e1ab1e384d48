/**
 * Plain channel files checked against index.json on other threads: a hash worker
 * (hash-worker.ts) reads and hashes a file while this thread decodes it (sha256 of a gigabyte
 * takes ~0.6 s here, longer than decoding it), and the digest is compared once the reader is at
 * the end. The reader's own count of bytes is what the size is checked against. A decode of a
 * whole capture starts its files' hashes ahead (HashAhead), side by side.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CaptureError } from '../errors.js';
import { checkRead, type ExpectedContent } from './byte-source.js';
import { hashFile, type HashReport } from './hash-file.js';
import type { HashWorkerData } from './hash-worker.js';

/** Smaller files are hashed as they are read: a worker's start costs about what it saves. */
export const HASH_ASIDE_MIN_BYTES = 16 << 20;

/** Whether a file of `size` bytes with this expectation is hashed aside (a sha256 to check, two cores or more). */
export function hashesAside(size: number | undefined, expect: ExpectedContent | undefined): boolean {
  return !!expect?.sha256 && size !== undefined && size >= HASH_ASIDE_MIN_BYTES && availableParallelism() >= 2;
}

/** One file being hashed by a worker. */
export class HashJob {
  readonly report: Promise<HashReport>;
  readonly #worker: Worker;
  readonly #stop = new Int32Array(new SharedArrayBuffer(4));

  constructor(readonly path: string) {
    const data: HashWorkerData = { path, stop: this.#stop.buffer as SharedArrayBuffer };
    const worker = (this.#worker = new Worker(new URL('./hash-worker.js', import.meta.url), { workerData: data }));
    // Never what keeps the process alive, except while its report is awaited (see result()).
    worker.unref();
    this.report = new Promise<HashReport>((resolve, reject) => {
      worker.once('message', (r: HashReport) => resolve(r));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the hash worker stopped (exit ${code})`)));
    });
    // Settled whatever happens; looked at only when the reader is done.
    this.report.catch(() => {});
  }

  async result(): Promise<HashReport> {
    this.#worker.ref();
    try {
      return await this.report;
    } finally {
      this.#worker.unref();
    }
  }

  /** The digest is no longer wanted: the worker stops at its next read and closes the file. */
  stop(): void {
    Atomics.store(this.#stop, 0, 1);
  }
}

/**
 * Length and sha256 of a whole file, read on a worker thread when it is large and there is a
 * second core (the calling thread stays free: a recording proxy hashes a closed connection's file
 * while others still forward), else on this thread. Failures are CaptureErrors naming the file.
 */
export async function sha256OfFile(path: string): Promise<{ bytes: number; sha256: string }> {
  const aside = availableParallelism() >= 2 && (sizeOf(path) ?? 0) >= HASH_ASIDE_MIN_BYTES;
  let r: HashReport;
  try {
    // A worker that cannot start (or dies) is no reason to lose the digest: hash it here then.
    r = aside ? await new HashJob(path).result().catch(() => hashFile(path)) : hashFile(path);
  } catch (e) {
    throw new CaptureError(`${path}: cannot hash it: ${(e as Error).message}`, path, { cause: e });
  }
  if (r.error) throw new CaptureError(`${path}: cannot hash it: ${r.error}`, path);
  return { bytes: r.bytes, sha256: r.sha256 };
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/**
 * Hashes started ahead for the files a decode reads in turn, `parallel` at a time (the next starts
 * when one is done): a capture's channel files are then hashed side by side while they are decoded.
 */
export class HashAhead {
  readonly #waiting: string[];
  readonly #jobs = new Map<string, HashJob>();
  #running = 0;

  constructor(paths: string[], private readonly parallel = availableParallelism()) {
    this.#waiting = [...paths];
    this.#fill();
  }

  /** The job hashing `path` (started now if it was not yet), handed over to the caller. */
  take(path: string): HashJob {
    const i = this.#waiting.indexOf(path);
    if (i >= 0) this.#waiting.splice(i, 1);
    const job = this.#jobs.get(path) ?? this.#start(path);
    this.#jobs.delete(path);
    return job;
  }

  /** Stop every job not handed over (a decode that ended early). */
  stop(): void {
    this.#waiting.length = 0;
    for (const j of this.#jobs.values()) j.stop();
    this.#jobs.clear();
  }

  #start(path: string): HashJob {
    const job = new HashJob(path);
    this.#running++;
    void job.report.finally(() => {
      this.#running--;
      this.#fill();
    });
    return job;
  }

  #fill(): void {
    while (this.#running < this.parallel && this.#waiting.length) {
      const path = this.#waiting.shift()!;
      this.#jobs.set(path, this.#start(path));
    }
  }
}

/**
 * Pass `source` through (items counted with `length`) while a worker hashes `path` (the job `ahead`
 * started for it, else one started when reading starts); at the end, a count or digest that
 * differs from `expect` is a CaptureError naming the file, as when hashed inline.
 */
export async function* verifiedAside<T>(source: AsyncIterable<T>, path: string, expect: ExpectedContent, length: (item: T) => number, ahead?: HashAhead): AsyncGenerator<T> {
  const job = ahead ? ahead.take(path) : new HashJob(path);
  try {
    let n = 0;
    for await (const item of source) {
      n += length(item);
      yield item;
    }
    let r: HashReport;
    try {
      r = await job.result();
    } catch (e) {
      throw new CaptureError(`${path}: cannot check it against index.json: ${(e as Error).message}`, path, { cause: e });
    }
    if (r.error) throw new CaptureError(`${path}: cannot read: ${r.error}`, path);
    checkRead(path, expect, n, r.sha256);
  } finally {
    job.stop();
  }
}
