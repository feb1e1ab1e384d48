/**
 * The page-run worker: reads a main stream file from `from` to its end and posts the runs of
 * PAGE/ZERO records it finds, so the thread decoding the stream can take each whole when it
 * reaches it (see ahead.ts). It loads only the page-run scanner, so it is reading within a few
 * milliseconds. Nothing it posts is trusted: the decoder checks where it stands before taking a run.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { PageRunScanner, findPageRunStart, type PageRun } from '@migwire/stream-codec/page-run';

export interface PageRunWorkerData {
  path: string;
  /** Where to start looking for a run, and where to stop (the run that crosses it is finished). */
  from: number;
  to: number;
  pageSize: number;
  /** Keep every record's numbers in the runs (PageRun.detail). */
  detail: boolean;
  port: MessagePort;
  /** Int32 [0]: set when the reader is done (looked at between reads). */
  signal: SharedArrayBuffer;
}

/** What the worker knows so far: runs found, and where it stands. */
export interface PageRunReport {
  runs: PageRun[];
  /** A run is being scanned from `at` (no run will start between `at` and it); else it is looking from `at`. */
  scanning: boolean;
  at: number;
  done: boolean;
  error?: string;
}

/** Read size; the buffer keeps room for the undecided tail (a record or a chain being checked). */
const READ_BYTES = 256 * 1024;
const SLACK_BYTES = 64 * 1024;
/** A run is posted at the latest after this many bytes: the reader never waits long for the one it stands at. */
const RUN_CUT_BYTES = 4 << 20;
/** Looking this far without finding a run: the stream holds few pages from here on; stop. */
const GIVE_UP_BYTES = 64 << 20;

function scanFile(d: PageRunWorkerData, stop: Int32Array, report: (r: Omit<PageRunReport, 'runs' | 'done'>, runs: PageRun[]) => void): void {
  const fd = openSync(d.path, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_BYTES + SLACK_BYTES);
    const scanner = new PageRunScanner(d.pageSize, { detail: d.detail });
    let base = d.from; // stream offset of buf[0]
    let have = 0;
    let at = 0;
    let eof = false;
    let seeking = true;
    let sought = 0;
    for (;;) {
      // Checked between reads: the worker ends on its own, closing the file itself.
      if (Atomics.load(stop, 0)) return;
      if (at > 0) {
        buf.copyWithin(0, at, have);
        base += at;
        have -= at;
        at = 0;
      }
      if (!eof) {
        const n = readSync(fd, buf, have, buf.length - have, base + have);
        if (n === 0) eof = true;
        have += n;
      }
      // Past its part: the next worker (or none, at the end) takes it from here.
      if (seeking && base + at >= d.to) return;
      if (seeking) {
        const found = findPageRunStart(buf, at, have, d.pageSize);
        sought += found.at - at;
        at = found.at;
        if (!found.sure) {
          if (eof || sought > GIVE_UP_BYTES) return;
          continue;
        }
        seeking = false;
        sought = 0;
        scanner.forget();
        report({ scanning: true, at: base + at }, []);
      }
      const r = scanner.scan(buf, at, have, base);
      const took = r.at > at;
      at = r.at;
      if (r.stop === 'other') {
        const run = scanner.take();
        scanner.forget();
        seeking = true;
        // A chain found at a marker (EOS) takes no page: look on from the next byte.
        if (!took) at++;
        report({ scanning: false, at: base + at }, run ? [run] : []);
        continue;
      }
      if (eof || base + at >= d.to) {
        // The file ends here (or inside the next record), or this part does.
        const run = scanner.take();
        report({ scanning: false, at: base + at }, run ? [run] : []);
        return;
      }
      if (scanner.runBytes >= RUN_CUT_BYTES) {
        const run = scanner.take()!;
        report({ scanning: true, at: run.end }, [run]);
      }
    }
  } finally {
    closeSync(fd);
  }
}

const d = workerData as PageRunWorkerData;
const stop = new Int32Array(d.signal);
const post = (r: PageRunReport): void => d.port.postMessage(r);
try {
  scanFile(d, stop, (r, runs) => post({ ...r, runs, done: false }));
  post({ runs: [], scanning: false, at: Infinity, done: true });
} catch (e) {
  post({ runs: [], scanning: false, at: Infinity, done: true, error: (e as Error).message });
}
