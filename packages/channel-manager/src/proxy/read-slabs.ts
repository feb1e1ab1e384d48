/**
 * Where a source connection's reads land: slabs of our own that the socket reads into directly
 * (see slab-socket.ts), not a fresh 64 KiB buffer per read. A read takes what the socket holds,
 * up to the slab's free space, so a connection at full speed is read ~1 MiB at a time: 16 times
 * fewer reads, writes and callbacks than 64 KiB, and nothing allocated per read (pnpm bench: the
 * proxy's CPU per GiB halves).
 *
 * The bytes of a read are handed on as a view into its slab (to the destination socket, the
 * recording file). Each hand-off holds the slab; once every hold is released and the slab is no
 * longer read into, it is read into again from the start. (onChunk sees the view during its call
 * only: a live decoder copies the partial record it keeps, see ChunkQueue.own.)
 */

/** Bytes per slab: the most one read can take. */
export const SLAB_BYTES = 1024 * 1024;
/** A read is never offered less room than this: the slab is changed first. */
export const MIN_READ_BYTES = 128 * 1024;
/** Free slabs kept for reuse; more are left to the GC (a burst does not pin its memory). */
const FREE_SLABS_KEPT = 8;

export class Slab {
  readonly bytes = Buffer.allocUnsafeSlow(SLAB_BYTES);
  /** Hand-offs not yet released. */
  holds = 0;
  /** No longer read into: free once the holds are released. */
  retired = false;
}

export class ReadSlabs {
  #current = new Slab();
  /** Where the next read lands in the current slab. */
  #at = 0;
  readonly #free: Slab[] = [];

  /** `recycle`: reuse a slab once its views are released (false: leave finished slabs to the GC). */
  constructor(private readonly recycle = true) {}

  /** The room the next read lands in. */
  target(): Buffer {
    if (SLAB_BYTES - this.#at < MIN_READ_BYTES) {
      const old = this.#current;
      old.retired = true;
      this.#current = this.#free.pop() ?? new Slab();
      this.#at = 0;
      this.#retire(old);
    }
    return this.#current.bytes.subarray(this.#at);
  }

  /** The last read put `n` bytes at the start of its target: they are now a view, in `slab`. */
  took(n: number): { view: Buffer; slab: Slab } {
    const slab = this.#current;
    const view = slab.bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return { view, slab };
  }

  /** A hand-off of a view in `slab` is done with it. */
  release(slab: Slab): void {
    slab.holds--;
    this.#retire(slab);
  }

  #retire(slab: Slab): void {
    if (!slab.retired || slab.holds > 0 || !this.recycle) return;
    slab.retired = false;
    if (this.#free.length < FREE_SLABS_KEPT) this.#free.push(slab);
  }
}
