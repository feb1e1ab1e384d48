/**
 * Find a precopy stream's VMDESCRIPTION without reading the whole file: it is
 * the last record (0x06, be32 length, JSON that runs to the end of the file).
 * Lets a reader name device fields on the first pass of a seekable file.
 */
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { isVmdesc, type Vmdesc } from '@migwire/stream-codec';

export function findTrailingVmdesc(path: string, maxBytes = 4 * 1024 * 1024): Vmdesc | undefined {
  if (path.endsWith('.gz')) return undefined;
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const n = Math.min(size, maxBytes);
    const tail = Buffer.alloc(n);
    readSync(fd, tail, 0, n, size - n);
    if (tail[n - 1] !== 0x7d) return undefined; // JSON ends with '}'
    for (let i = tail.lastIndexOf(0x06, n - 6); i >= 0; i = i > 0 ? tail.lastIndexOf(0x06, i - 1) : -1) {
      if (i + 5 >= n) continue;
      const len = tail.readUInt32BE(i + 1);
      if (i + 5 + len !== n || tail[i + 5] !== 0x7b) continue;
      try {
        const d: unknown = JSON.parse(tail.subarray(i + 5).toString('utf8'));
        return isVmdesc(d) ? d : undefined;
      } catch {
        return undefined;
      }
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
