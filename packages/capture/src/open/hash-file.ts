/** Reading a whole file into sha256 through one reused buffer: on a hash worker, or on the caller's thread for a small file. */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

export interface HashReport {
  bytes: number;
  sha256: string;
  error?: string;
}

const READ_BYTES = 1 << 20;

/** Length and sha256 of `path`; `stop` (set by another thread) ends it early with error 'stopped'. */
export function hashFile(path: string, stop?: Int32Array): HashReport {
  const fd = openSync(path, 'r');
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(READ_BYTES);
    let bytes = 0;
    for (;;) {
      // Checked between reads: the worker ends on its own, closing the file itself.
      if (stop && Atomics.load(stop, 0)) return { bytes, sha256: '', error: 'stopped' };
      const n = readSync(fd, buf, 0, READ_BYTES, bytes);
      if (n === 0) return { bytes, sha256: hash.digest('hex') };
      hash.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    closeSync(fd);
  }
}
