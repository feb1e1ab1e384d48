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
 *
 * Aligned slabs (for an O_DIRECT file, see direct-file.ts) are page-aligned memory in which every
 * byte sits at an address that is, modulo ALIGN, its offset in the stream: a new slab starts at
 * the block the stream is in, the block's earlier bytes copied from the slab before (< 4 KiB per
 * slab). The file can then write whole blocks straight from the slabs, with no copy.
 */

import { ALIGN, alignedBuffers } from './aligned-memory.js';

/** Bytes per slab: the most one read can take. */
export const SLAB_BYTES = 1024 * 1024;
/** A read is never offered less room than this: the slab is changed first. */
export const MIN_READ_BYTES = 128 * 1024;
/** Free slabs kept for reuse; more are left to the GC (a burst does not pin its memory). */
const FREE_SLABS_KEPT = 8;
/** Aligned slabs are made this many at a time, in one page-aligned memory. */
const ALIGNED_GROUP = 8;

export class Slab {
  /** Hand-offs not yet released. */
  holds = 0;
  /** No longer read into: free once the holds are released. */
  retired = false;
  /** Stream offset of bytes[0] (a multiple of ALIGN in an aligned slab). */
  base = 0;
  constructor(
    readonly bytes: Buffer,
    /** Page-aligned memory (see above). */
    readonly aligned: boolean,
  ) {}
}

/** Slabs of page-aligned memory, ALIGNED_GROUP at a time; throws when no memory can be had. */
function alignedSlabs(): Slab[] {
  return alignedBuffers(ALIGNED_GROUP, SLAB_BYTES).map((bytes) => new Slab(bytes, true));
}

export interface ReadSlabsOptions {
  /** Reuse a slab once its views are released (default; false: leave finished slabs to the GC). */
  recycle?: boolean;
  /** Aligned slabs, for a file written with O_DIRECT straight from them (throws when there is no such memory). */
  aligned?: boolean;
}

export class ReadSlabs {
  readonly #recycle: boolean;
  #aligned: boolean;
  readonly #free: Slab[] = [];
  #current: Slab;
  /** Where the next read lands in the current slab. */
  #at = 0;

  constructor(o: ReadSlabsOptions = {}) {
    this.#recycle = o.recycle ?? true;
    this.#aligned = o.aligned ?? false;
    // The first aligned group may throw (the caller then reads unaligned from the start).
    this.#current = this.#aligned ? this.#group(alignedSlabs()) : this.#fresh();
  }

  /** The room the next read lands in. */
  target(): Buffer {
    if (SLAB_BYTES - this.#at < MIN_READ_BYTES) {
      const old = this.#current;
      const streamAt = old.base + this.#at;
      old.retired = true;
      const next = (this.#current = this.#fresh());
      // An aligned slab starts at the stream's block: its earlier bytes come along (they are
      // the end of the old slab, whose base is a block boundary at or before it).
      const carried = this.#aligned ? streamAt % ALIGN : 0;
      if (carried > 0) old.bytes.copy(next.bytes, 0, this.#at - carried, this.#at);
      next.base = streamAt - carried;
      this.#at = carried;
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

  #fresh(): Slab {
    const free = this.#free.pop();
    if (free) return free;
    if (this.#aligned) {
      try {
        return this.#group(alignedSlabs());
      } catch {
        // No memory for more: reading goes on unaligned. The O_DIRECT file copies from the first
        // unaligned slab on (an aligned one reused later is placed without the carry: it writes
        // in place only from the stream's first byte).
        this.#aligned = false;
      }
    }
    return new Slab(Buffer.allocUnsafeSlow(SLAB_BYTES), false);
  }

  /** Keep all but the first of a new group free; the first is read into now. */
  #group(slabs: Slab[]): Slab {
    this.#free.push(...slabs.slice(1));
    return slabs[0]!;
  }

  /** A hand-off of a view in `slab` is done with it. */
  release(slab: Slab): void {
    slab.holds--;
    this.#retire(slab);
  }

  #retire(slab: Slab): void {
    if (!slab.retired || slab.holds > 0 || !this.#recycle) return;
    slab.retired = false;
    // Aligned slabs share their memory with their group: all are kept (their count is bounded by the lag).
    if (slab.aligned || this.#free.length < FREE_SLABS_KEPT) this.#free.push(slab);
  }
}
