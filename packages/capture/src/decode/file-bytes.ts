/**
 * A channel's bytes for the commands that read whole files (dump, extract, check): a plain file is
 * read with synchronous positioned reads of 128 KiB (no stream machinery, no tick per chunk) into
 * fresh buffers or, when the consumer says how, a recycled ring; gzip files and stdin go through
 * the capture's own stream. (Reading ahead in libuv's pool was tried: more CPU, no faster here.)
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { CaptureError } from '../errors.js';
import type { CaptureChannel } from '../open/open-capture.js';
import { isGzipPath, verified } from '../open/byte-source.js';
import { hashesAside, verifiedAside, type HashAhead } from '../open/hash-aside.js';

/**
 * 128 KiB: a recycled ring of these stays in the CPU's cache, which makes reading a 1 GB file here
 * about twice as fast as with 256 KiB or more; larger fresh buffers also raise peak RSS.
 */
export const READ_SIZE = 128 * 1024;

/**
 * Lets the reader recycle its buffers: `pending()` is how many bytes the consumer still holds
 * unconsumed (the tail of what it was given). Only for consumers that keep no view of a chunk
 * past the call that received it (the decoders' queue aside, which `pending` accounts for).
 */
export interface Recycle {
  pending(): number;
  /** Something else still holds a view of this buffer (e.g. a queued write): do not reuse it. */
  inUse?(buffer: ArrayBufferLike): boolean;
  /** Buffers in the ring (default 4: one being decoded, the rest for a record split across reads). */
  ring?: number;
}

/** `hashes`: hashes a whole decode started ahead (see HashAhead); else one starts when reading does. */
export function channelBytes(ch: CaptureChannel, recycle?: Recycle, hashes?: HashAhead): AsyncIterable<Uint8Array> {
  if (!ch.path || isGzipPath(ch.path)) return ch.open();
  const bytes = plainFile(ch, ch.path, recycle);
  // What index.json promises is checked here too: hashed on another thread for a large file, else as read (before a buffer is reused).
  if (!ch.expect || !(ch.expect.sha256 || ch.expect.size !== undefined)) return bytes;
  return hashesAside(ch.size, ch.expect) ? verifiedAside(bytes, ch.path, ch.expect, (c) => c.length, hashes) : verified(bytes, ch.path, ch.expect);
}

/** Fresh buffers, or with `recycle` a ring whose oldest buffer is reused once nothing unconsumed lies in it. */
function nextBuffer(ring: Buffer[], recycle: Recycle | undefined, turn: number): Buffer {
  if (!recycle) return Buffer.allocUnsafe(READ_SIZE);
  const size = recycle.ring ?? 4;
  const slot = turn % size;
  const old = ring[slot];
  // The unconsumed tail spans at most the last `pending` bytes: the size-1 newer buffers hold that much.
  if (old && recycle.pending() <= (size - 1) * READ_SIZE && !recycle.inUse?.(old.buffer)) return old;
  const b = Buffer.allocUnsafe(READ_SIZE);
  ring[slot] = b;
  return b;
}

async function* plainFile(ch: CaptureChannel, path: string, recycle?: Recycle): AsyncGenerator<Uint8Array> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    // Unreadable: the capture's own reader raises its named error.
    yield* ch.open();
    return;
  }
  try {
    let pos = 0;
    const ring: Buffer[] = [];
    for (let turn = 0; ; turn++) {
      const buf = nextBuffer(ring, recycle, turn);
      const got = readAt(fd, path, buf, READ_SIZE, pos);
      if (got === 0) return;
      pos += got;
      yield got === READ_SIZE ? buf : buf.subarray(0, got);
    }
  } finally {
    closeSync(fd);
  }
}

/** One positioned read, its failure named after the file. */
export function readAt(fd: number, path: string, buf: Uint8Array, length: number, pos: number): number {
  try {
    return readSync(fd, buf, 0, length, pos);
  } catch (e) {
    throw new CaptureError(`${path}: cannot read: ${(e as Error).message}`, path, { cause: e });
  }
}
