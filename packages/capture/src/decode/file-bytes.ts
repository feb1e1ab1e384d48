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

/**
 * Read buffers taken in turn, the oldest reused once the consumer's unconsumed tail (`recycle`)
 * lies in the newer ones and nothing else holds it; fresh buffers without `recycle`. Read lengths
 * are kept, since a read may fill a buffer only in part.
 */
export class ReadRing {
  readonly #buffers: Buffer[] = [];
  readonly #lengths: number[];
  readonly #count: number;
  #slot = 0;

  constructor(
    private readonly bufferBytes: number,
    private readonly recycle: Recycle | undefined,
  ) {
    this.#count = recycle?.ring ?? 4;
    this.#lengths = new Array<number>(this.#count).fill(0);
  }

  /** The buffer to read into next; tell `filled(n)` how many bytes the read put in it. */
  next(): Buffer {
    const r = this.recycle;
    if (!r) return Buffer.allocUnsafe(this.bufferBytes);
    this.#slot = (this.#slot + 1) % this.#count;
    const newer = this.#lengths.reduce((a, b) => a + b, 0) - this.#lengths[this.#slot]!;
    let b = this.#buffers[this.#slot];
    if (!b || r.pending() > newer || r.inUse?.(b.buffer)) this.#buffers[this.#slot] = b = Buffer.allocUnsafe(this.bufferBytes);
    this.#lengths[this.#slot] = 0;
    return b;
  }

  filled(n: number): void {
    this.#lengths[this.#slot] = n;
  }
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
    const ring = new ReadRing(READ_SIZE, recycle);
    for (;;) {
      const buf = ring.next();
      const got = readAt(fd, path, buf, READ_SIZE, pos);
      ring.filled(got);
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
