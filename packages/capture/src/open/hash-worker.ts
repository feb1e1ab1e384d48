/**
 * The hash worker (hash-aside.ts): reads one plain file to its end and posts its length and
 * sha256, so the thread decoding it need not hash it too.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

export interface HashReport {
  bytes: number;
  sha256: string;
  error?: string;
}

const READ_BYTES = 1 << 20;

/** workerData: the file, and a flag the reader sets when it no longer wants the digest. */
export interface HashWorkerData {
  path: string;
  stop: SharedArrayBuffer;
}

function hashFile(path: string, stop: Int32Array): HashReport {
  const fd = openSync(path, 'r');
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(READ_BYTES);
    let bytes = 0;
    for (;;) {
      // Checked between reads: the worker ends on its own, closing the file itself.
      if (Atomics.load(stop, 0)) return { bytes, sha256: '', error: 'stopped' };
      const n = readSync(fd, buf, 0, READ_BYTES, bytes);
      if (n === 0) return { bytes, sha256: hash.digest('hex') };
      hash.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    closeSync(fd);
  }
}

let report: HashReport;
try {
  const d = workerData as HashWorkerData;
  report = hashFile(d.path, new Int32Array(d.stop));
} catch (e) {
  report = { bytes: 0, sha256: '', error: (e as Error).message };
}
parentPort!.postMessage(report);
