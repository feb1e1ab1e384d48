/**
 * Reads a channel's bytes (any byte source: a file read from disk, a packet capture's reassembled
 * stream) sequentially in pieces of exactly the asked length (recorded chunk sizes).
 */

/** A Buffer view of the same bytes (no copy): sockets and the --out recorder take Buffers. */
const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;
  /** Bytes handed out so far. */
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** The next `n` bytes; fewer only at the end of the source. */
  async take(n: number): Promise<Buffer> {
    while (this.pendingBytes < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.pending.push(asBuffer(r.value));
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

  /** The rest of the source in the pieces it is read in (for sending as fast as possible). */
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
        yield asBuffer(r.value);
      }
    }
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}
