/**
 * The hash worker (hash-aside.ts): reads one plain file to its end and posts its length and
 * sha256, so the thread decoding it need not hash it too.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { hashFile, type HashReport } from './hash-file.js';

export type { HashReport };

/** workerData: the file, and a flag the reader sets when it no longer wants the digest. */
export interface HashWorkerData {
  path: string;
  stop: SharedArrayBuffer;
}

let report: HashReport;
try {
  const d = workerData as HashWorkerData;
  report = hashFile(d.path, new Int32Array(d.stop));
} catch (e) {
  report = { bytes: 0, sha256: '', error: (e as Error).message };
}
parentPort!.postMessage(report);
