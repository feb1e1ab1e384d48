/**
 * Find a precopy stream's VMDESCRIPTION without reading the whole file: it is
 * the last record (0x06, be32 length, JSON that runs to the end of the file).
 * Lets a reader name device fields on the first pass of a seekable file.
 */
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { parseVmdesc, type Vmdesc } from '@migwire/stream-codec';
import { CaptureError } from '../errors.js';

/** The last `maxBytes` of a file; a failure is a CaptureError naming it (not a bare EISDIR or ENOENT). */
function readTail(path: string, maxBytes: number): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, maxBytes));
    const got = readSync(fd, tail, 0, tail.length, size - tail.length);
    return tail.subarray(0, got);
  } catch (e) {
    throw new CaptureError(`${path}: cannot read: ${(e as Error).message}`, path, { cause: e });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function findTrailingVmdesc(path: string, maxBytes = 4 * 1024 * 1024): Vmdesc | undefined {
  if (path.endsWith('.gz')) return undefined;
  const tail = readTail(path, maxBytes);
  const n = tail.length;
  if (tail[n - 1] !== 0x7d) return undefined; // JSON ends with '}'
  for (let i = tail.lastIndexOf(0x06, n - 6); i >= 0; i = i > 0 ? tail.lastIndexOf(0x06, i - 1) : -1) {
    if (i + 5 >= n) continue;
    const len = tail.readUInt32BE(i + 1);
    if (i + 5 + len !== n || tail[i + 5] !== 0x7b) continue;
    try {
      // The codec's own check: shape and nesting bounded (a found trailer is walked by the decoders).
      return parseVmdesc(tail.subarray(i + 5)).vmdesc;
    } catch {
      // Not a description after all: the decoder reports the record when it reaches it.
      return undefined;
    }
  }
  return undefined;
}
