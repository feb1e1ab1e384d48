/**
 * Byte sources: a pull reader over an async iterable of chunks, and a re-openable file source
 * that transparently gunzips.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { createGunzip } from 'node:zlib';

/** Something that yields the capture's bytes, in order. */
export type ByteSource = AsyncIterable<Uint8Array>;

/** A source that can be read more than once (the two-pass API reads it twice). */
export type OpenSource = () => ByteSource;

/**
 * A re-openable source for a capture file; gzip-compressed files (magic 1f 8b) are gunzipped,
 * plain ones are a SeekableFile.
 */
export function fileSource(path: string): OpenSource {
  const head = new Uint8Array(2);
  const fd = openSync(path, 'r');
  let gzip: boolean;
  try {
    gzip = readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
  return gzip ? () => gunzipped(path) : () => new SeekableFile(path);
}

const READ_BYTES = 4 << 20;
/** After a seek, the next read is small: it is likely to hold one packet header before another seek. */
const READ_AFTER_SEEK = 4096;

async function* gunzipped(path: string): AsyncGenerator<Uint8Array> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 }).pipe(createGunzip({ chunkSize: 1 << 20 }));
  for await (const chunk of stream) yield chunk as Uint8Array;
}

/**
 * A plain (uncompressed) capture file: read through in large synchronous blocks (page-cache
 * copies, no thread-pool round trip per chunk); its readers may also skip ahead (a seek) and read
 * any stretch back by position.
 */
export class SeekableFile implements AsyncIterable<Uint8Array> {
  constructor(readonly path: string) {}

  [Symbol.asyncIterator](): SeekableReader {
    return new SeekableReader(this.path);
  }

  /** `length` bytes at `pos` (shorter only at the end of the file). */
  readAt(pos: number, length: number): Uint8Array {
    const fd = openSync(this.path, 'r');
    try {
      return readFully(fd, pos, length);
    } finally {
      closeSync(fd);
    }
  }
}

function readFully(fd: number, pos: number, length: number): Uint8Array {
  const buf = Buffer.allocUnsafeSlow(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

export class SeekableReader implements AsyncIterator<Uint8Array> {
  private fd: number | undefined;
  private pos = 0;
  private readonly size: number;
  private afterSeek = false;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.fd === undefined || this.pos >= this.size) {
      this.close();
      return { done: true, value: undefined };
    }
    const bytes = readFully(this.fd, this.pos, Math.min(this.afterSeek ? READ_AFTER_SEEK : READ_BYTES, this.size - this.pos));
    this.afterSeek = false;
    this.pos += bytes.length;
    return { done: false, value: bytes };
  }

  /** Bytes after the read position. */
  get remaining(): number {
    return this.size - this.pos;
  }

  /** Move `n` bytes ahead without reading them; returns how many there were. */
  skip(n: number): number {
    const skipped = Math.max(0, Math.min(n, this.size - this.pos));
    this.pos += skipped;
    this.afterSeek = true;
    return skipped;
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.close();
    return { done: true, value: undefined };
  }

  private close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
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

  /** Whether `n` more bytes are there: known only for a seekable file (undefined otherwise). */
  holds(n: number): boolean | undefined {
    const buffered = this.chunk.length - this.pos;
    if (n <= buffered) return true;
    return this.it instanceof SeekableReader ? buffered + this.it.remaining >= n : undefined;
  }

  /**
   * Pass over `n` bytes (a seek when the source can, else read and dropped); returns how many
   * there were (fewer only at the end).
   */
  async skip(n: number): Promise<number> {
    const buffered = this.chunk.length - this.pos;
    if (n <= buffered) {
      this.pos += n;
      this.offset += n;
      return n;
    }
    this.pos = this.chunk.length;
    let skipped = buffered;
    if (this.it instanceof SeekableReader) skipped += this.it.skip(n - buffered);
    else {
      while (skipped < n && (await this.next())) {
        const take = Math.min(n - skipped, this.chunk.length - this.pos);
        this.pos += take;
        skipped += take;
      }
    }
    this.offset += skipped;
    return skipped;
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
