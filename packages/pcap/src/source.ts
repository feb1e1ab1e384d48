/**
 * Byte sources: a pull reader over an async iterable of chunks, and a re-openable file source
 * that transparently gunzips.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { createGunzip } from 'node:zlib';

/** Something that yields the capture's bytes, in order. */
export type ByteSource = AsyncIterable<Uint8Array>;

/** A source that can be read more than once (the two-pass API reads it twice). */
export type OpenSource = () => ByteSource;

/**
 * A re-openable source for a capture file; gzip-compressed files (magic 1f 8b) are gunzipped.
 */
export function fileSource(path: string): OpenSource {
  return () => readFileMaybeGzip(path);
}

const READ_BYTES = 4 << 20;

async function* readFileMaybeGzip(path: string): AsyncGenerator<Uint8Array> {
  const fd = openSync(path, 'r');
  let closed = false;
  try {
    const head = new Uint8Array(2);
    const gzip = readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
    if (gzip) {
      closeSync(fd);
      closed = true;
      const stream = createReadStream(path, { highWaterMark: 1 << 20 }).pipe(createGunzip());
      for await (const chunk of stream) yield chunk as Uint8Array;
      return;
    }
    // Plain file: synchronous reads of large blocks (page-cache copies), no thread-pool round trip per chunk.
    for (let pos = 0; ; ) {
      const buf = Buffer.allocUnsafeSlow(READ_BYTES);
      const n = readSync(fd, buf, 0, READ_BYTES, pos);
      if (n === 0) return;
      pos += n;
      yield buf.subarray(0, n);
    }
  } finally {
    if (!closed) closeSync(fd);
  }
}

/**
 * Pulls exact-length reads out of a chunked source. A read inside one source chunk is a view of
 * it (no copy); only reads that straddle chunks are copied. Returned views are never
 * overwritten, so callers may keep them without copying.
 */
export class ChunkReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private done = false;
  private readonly it: AsyncIterator<Uint8Array>;
  /** Bytes consumed so far (file offset of the next read). */
  offset = 0;

  constructor(source: ByteSource) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** `n` bytes, or fewer only when the source ended (empty at a clean end). */
  async read(n: number): Promise<Uint8Array> {
    if (this.chunk.length - this.pos >= n) {
      const out = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.offset += n;
      return out;
    }
    const parts: Uint8Array[] = [];
    let have = 0;
    while (have < n) {
      if (this.pos >= this.chunk.length && !(await this.next())) break;
      const take = Math.min(n - have, this.chunk.length - this.pos);
      parts.push(this.chunk.subarray(this.pos, this.pos + take));
      this.pos += take;
      have += take;
    }
    this.offset += have;
    if (parts.length === 1) return parts[0]!;
    const joined = new Uint8Array(have);
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    return joined;
  }

  private async next(): Promise<boolean> {
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      if (r.value.length === 0) continue;
      this.chunk = r.value;
      this.pos = 0;
      return true;
    }
    return false;
  }

  /** Stop reading the underlying source early. */
  async close(): Promise<void> {
    await this.it.return?.();
  }
}
