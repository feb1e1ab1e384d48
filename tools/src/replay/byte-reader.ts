/** Reads a stream file sequentially in pieces of exactly the asked length (recorded chunk sizes). */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

export class ByteReader {
  private readonly it: AsyncIterator<Buffer>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;
  /** Bytes handed out so far. */
  offset = 0;

  constructor(path: string) {
    const s = createReadStream(path, { highWaterMark: 256 * 1024 });
    const src = path.endsWith('.gz') ? s.pipe(createGunzip()) : s;
    this.it = (src as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** The next `n` bytes; fewer only at the end of the file. */
  async take(n: number): Promise<Buffer> {
    while (this.pendingBytes < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.pending.push(r.value);
        this.pendingBytes += r.value.length;
      }
    }
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const got = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(got.length);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    this.offset += got.length;
    return got;
  }

  /** The rest of the file in the pieces it is read in (for sending as fast as possible). */
  async *rest(): AsyncGenerator<Buffer> {
    if (this.pendingBytes) {
      const p = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      for (const b of p) {
        this.offset += b.length;
        yield b;
      }
    }
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.offset += r.value.length;
        yield r.value;
      }
    }
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}
