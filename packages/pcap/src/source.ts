/**
 * Byte sources: a pull reader over an async iterable of chunks, and a re-openable file source
 * that transparently gunzips.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
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

async function* readFileMaybeGzip(path: string): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  const head = new Uint8Array(2);
  let gzip: boolean;
  try {
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    gzip = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = gzip ? file.pipe(createGunzip()) : file;
  for await (const chunk of stream) yield chunk as Uint8Array;
}

/**
 * Pulls exact-length reads out of a chunked source. Returned views are never overwritten
 * (new buffers are allocated on refill), so callers may keep them without copying.
 */
export class ChunkReader {
  private buf: Uint8Array = new Uint8Array(0);
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
    if (this.buf.length - this.pos < n) await this.fill(n);
    const end = Math.min(this.pos + n, this.buf.length);
    const out = this.buf.subarray(this.pos, end);
    this.offset += out.length;
    this.pos = end;
    return out;
  }

  private async fill(n: number): Promise<void> {
    const parts: Uint8Array[] = [this.buf.subarray(this.pos)];
    let have = parts[0]!.length;
    while (have < n && !this.done) {
      const next = await this.it.next();
      if (next.done) {
        this.done = true;
        break;
      }
      parts.push(next.value);
      have += next.value.length;
    }
    const joined = new Uint8Array(have);
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    this.buf = joined;
    this.pos = 0;
  }

  /** Stop reading the underlying source early. */
  async close(): Promise<void> {
    await this.it.return?.();
  }
}
