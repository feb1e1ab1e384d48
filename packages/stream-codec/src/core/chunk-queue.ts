/**
 * A queue of received chunks that the decoders read from without re-reading or
 * re-copying: small fields are peeked in place, page-sized spans are handed out
 * as views into the chunk that holds them (a copy is made only when a span
 * crosses a chunk boundary). Tiny chunks are coalesced into an append-only
 * scratch buffer so 1-byte feeding stays linear.
 */
const SMALL_CHUNK = 1024;
const SCRATCH_SIZE = 64 * 1024;
const EMPTY = new Uint8Array(0);

export class ChunkQueue {
  private chunks: Uint8Array[] = [];
  private first = 0; // index of the head chunk in `chunks`
  private headPos = 0; // bytes already consumed from the head chunk
  private queued = 0; // unconsumed bytes
  private consumed = 0; // absolute offset of the read position
  private scratch: Uint8Array | null = null;
  private scratchStart = 0;
  private scratchEnd = 0;
  private lastIsScratch = false;
  /** Chunks from this index on may be the caller's memory: own() has not copied them. */
  private borrowedFrom = 0;

  /** Bytes available to read. */
  get length(): number {
    return this.queued;
  }

  /** Absolute offset (from the first byte ever pushed) of the next unread byte. */
  get offset(): number {
    return this.consumed;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    this.queued += n;
    if (n < SMALL_CHUNK) {
      if (this.lastIsScratch && this.scratch && this.scratchEnd + n <= this.scratch.length) {
        this.scratch.set(chunk, this.scratchEnd);
        this.scratchEnd += n;
        this.chunks[this.chunks.length - 1] = this.scratch.subarray(this.scratchStart, this.scratchEnd);
        return;
      }
      // Never reuse a scratch buffer: views of it may have been handed out.
      if (!this.scratch || this.scratchEnd + n > this.scratch.length) {
        this.scratch = new Uint8Array(SCRATCH_SIZE);
        this.scratchEnd = 0;
      }
      this.scratchStart = this.scratchEnd;
      this.scratch.set(chunk, this.scratchEnd);
      this.scratchEnd += n;
      this.chunks.push(this.scratch.subarray(this.scratchStart, this.scratchEnd));
      this.lastIsScratch = true;
      return;
    }
    this.chunks.push(chunk);
    this.lastIsScratch = false;
  }

  /**
   * Copy the unread bytes of the chunks pushed since the last call into memory of the queue's
   * own, so the caller may reuse those chunks (a recorder reads into the same slabs again). Each
   * byte is copied once however long it waits (a large device section over many reads); views
   * handed out before stay as they are.
   */
  own(): void {
    for (let k = Math.max(this.first, this.borrowedFrom); k < this.chunks.length; k++) {
      const from = k === this.first ? this.headPos : 0;
      const c = this.chunks[k]!;
      const copy = new Uint8Array(c.length - from);
      copy.set(c.subarray(from));
      this.chunks[k] = copy;
      if (k === this.first) this.headPos = 0;
    }
    this.borrowedFrom = this.chunks.length;
    // The last chunk is no longer a view of the scratch buffer: small chunks start a new piece.
    this.lastIsScratch = false;
  }

  /** Byte at relative position i (0 = next unread). Caller ensures i < length. */
  byte(i: number): number {
    let c = this.chunks[this.first]!;
    let at = this.headPos + i;
    if (at < c.length) return c[at]!;
    let k = this.first;
    while (at >= c.length) {
      at -= c.length;
      c = this.chunks[++k]!;
    }
    return c[at]!;
  }

  u16(i: number): number {
    const c = this.chunks[this.first]!;
    const at = this.headPos + i;
    if (at + 2 <= c.length) return (c[at]! << 8) | c[at + 1]!;
    return (this.byte(i) << 8) | this.byte(i + 1);
  }

  u32(i: number): number {
    const c = this.chunks[this.first]!;
    const at = this.headPos + i;
    if (at + 4 <= c.length) {
      return ((c[at]! << 24) >>> 0) + ((c[at + 1]! << 16) | (c[at + 2]! << 8) | c[at + 3]!);
    }
    return ((this.byte(i) << 24) >>> 0) + ((this.byte(i + 1) << 16) | (this.byte(i + 2) << 8) | this.byte(i + 3));
  }

  /** be64 split in halves so callers can check the range before combining. */
  u64hi(i: number): number {
    return this.u32(i);
  }

  /** n bytes at relative position i, as a view when they lie in one chunk. Does not consume. */
  peek(i: number, n: number): Uint8Array {
    return n === 0 ? EMPTY : this.view(i, n, undefined);
  }

  /**
   * n bytes at relative position i: a view when they lie in one chunk, else joined into `into`
   * (at least n long) or, without it, a new array.
   */
  private view(i: number, n: number, into: Uint8Array | undefined): Uint8Array {
    this.seek(i);
    let k = this.spotChunk;
    let at = this.spotAt;
    let c = this.chunks[k]!;
    if (at + n <= c.length) return c.subarray(at, at + n);
    const out = into ?? new Uint8Array(n);
    for (let filled = 0; filled < n; at = 0, c = this.chunks[++k]!) {
      const part = Math.min(c.length - at, n - filled);
      out.set(c.subarray(at, at + part), filled);
      filled += part;
    }
    return into ? out.subarray(0, n) : out;
  }

  /**
   * Whether the bytes at relative position i equal `bytes` (which must fit in what is queued),
   * without copying: a view of these very bytes (a decoded page re-encoded as itself) is equal
   * at once, short runs are compared in place, long ones natively.
   */
  equalsAt(i: number, bytes: Uint8Array): boolean {
    if (bytes.length === 0) return true;
    this.seek(i);
    let k = this.spotChunk;
    let at = this.spotAt;
    let c = this.chunks[k]!;
    for (let done = 0; done < bytes.length; ) {
      const n = Math.min(c.length - at, bytes.length - done);
      // Short runs first, without touching `.buffer`: a small encoded piece lives on V8's heap and
      // asking for its buffer would move it off (an allocation per record header).
      if (n < 64) {
        for (let j = 0; j < n; j++) if (c[at + j] !== bytes[done + j]) return false;
      } else if (!(c.buffer === bytes.buffer && c.byteOffset + at === bytes.byteOffset + done)) {
        if (Buffer.compare(c.subarray(at, at + n), bytes.subarray(done, done + n)) !== 0) return false;
      }
      done += n;
      at = 0;
      c = this.chunks[++k]!;
    }
    return true;
  }

  /**
   * Consume n bytes: a view when they lie in one chunk, else joined into `into` (at least n
   * long; its first n bytes are overwritten, so the result is valid until its next use).
   */
  takeJoined(n: number, into: Uint8Array): Uint8Array {
    if (n === 0) return EMPTY;
    const v = this.view(0, n, into);
    this.advance(n);
    return v;
  }

  /** Consume n bytes and return them (a view when possible). */
  take(n: number): Uint8Array {
    if (n === 0) return EMPTY;
    const c = this.chunks[this.first]!;
    if (this.headPos + n <= c.length) {
      const v = c.subarray(this.headPos, this.headPos + n);
      this.advance(n);
      return v;
    }
    const v = this.peek(0, n);
    this.advance(n);
    return v;
  }

  /** Consume n bytes and return them as views, one per chunk they touch (no copy). */
  takeViews(n: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let left = n;
    while (left > 0) {
      const c = this.chunks[this.first]!;
      const take = Math.min(c.length - this.headPos, left);
      out.push(c.subarray(this.headPos, this.headPos + take));
      this.advance(take);
      left -= take;
    }
    return out;
  }

  skip(n: number): void {
    this.advance(n);
  }

  // Where relative position i lies, set by seek(): fields rather than a returned pair (no garbage).
  private spotChunk = 0;
  private spotAt = 0;

  /** Find the chunk holding relative position i (caller ensures i < length) and the offset in it. */
  private seek(i: number): void {
    let k = this.first;
    let at = this.headPos + i;
    while (at >= this.chunks[k]!.length) at -= this.chunks[k++]!.length;
    this.spotChunk = k;
    this.spotAt = at;
  }

  /** Count n bytes as consumed that were never pushed (a reader that skipped them); the queue must be empty. */
  advanceAbsent(n: number): void {
    if (this.queued !== 0) throw new RangeError('advanceAbsent with bytes still queued');
    this.consumed += n;
  }

  /** Relative index of the first `value` byte at or after relative position `from`, or -1. */
  indexOf(value: number, from: number): number {
    let k = this.first;
    let at = this.headPos + from;
    let base = -this.headPos; // relative position of chunks[k][0]
    while (k < this.chunks.length) {
      const c = this.chunks[k]!;
      if (at < c.length) {
        const found = c.indexOf(value, at);
        if (found >= 0) return base + found;
        at = c.length;
      }
      at -= c.length;
      base += c.length;
      k++;
    }
    return -1;
  }

  private advance(n: number): void {
    this.queued -= n;
    this.consumed += n;
    let pos = this.headPos + n;
    while (this.first < this.chunks.length && pos >= this.chunks[this.first]!.length) {
      pos -= this.chunks[this.first]!.length;
      this.first++;
      if (this.first === this.chunks.length) break;
    }
    this.headPos = pos;
    if (this.first === this.chunks.length) {
      this.chunks.length = 0;
      this.first = 0;
      this.headPos = 0;
      this.lastIsScratch = false;
      this.borrowedFrom = 0;
    } else if (this.first > 64) {
      this.chunks.splice(0, this.first);
      this.borrowedFrom = Math.max(0, this.borrowedFrom - this.first);
      this.first = 0;
    }
  }
}
