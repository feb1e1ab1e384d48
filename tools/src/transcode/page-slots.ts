/**
 * Pages queued for a multifd packet, kept until the packet is built: copied into page-sized slots
 * of a few reused slabs. The read buffers the pages came from are then free as soon as their
 * event is handled (the reader reuses them), and nothing per page is left for the collector.
 */

/** Slots per slab: 1 MiB of 4 KiB pages. */
const SLOTS_PER_SLAB = 256;

export class PageSlots {
  readonly #pageSize: number;
  readonly #slabs = new Set<ArrayBufferLike>();
  readonly #free: Uint8Array[] = [];

  constructor(pageSize = 4096) {
    this.#pageSize = pageSize;
  }

  /** A copy of `data` that stays valid until released. */
  keep(data: Uint8Array): Uint8Array {
    // Another size (not a target page) is rare: a plain copy.
    if (data.length !== this.#pageSize) return data.slice();
    let slot = this.#free.pop();
    if (!slot) {
      const slab = new Uint8Array(this.#pageSize * SLOTS_PER_SLAB);
      this.#slabs.add(slab.buffer);
      for (let i = SLOTS_PER_SLAB - 1; i > 0; i--) this.#free.push(slab.subarray(i * this.#pageSize, (i + 1) * this.#pageSize));
      slot = slab.subarray(0, this.#pageSize);
    }
    slot.set(data);
    return slot;
  }

  /** The copy is written out (the sink copied it): its slot may be reused. */
  release(copy: Uint8Array): void {
    if (copy.length === this.#pageSize && this.#slabs.has(copy.buffer)) this.#free.push(copy);
  }

  /** Slab bytes allocated so far (the most pages queued at once, rounded up to a slab). */
  get bytes(): number {
    return this.#slabs.size * SLOTS_PER_SLAB * this.#pageSize;
  }
}
