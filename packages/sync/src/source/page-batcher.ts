import type { PageRef } from './sinks.js';

/** Pages gathered for one packet: all from one block, in queue order. */
export interface PageBatch {
  block: string;
  offsets: number[];
}

/**
 * Groups queued pages into packets the way QEMU does: one packet holds pages of one RAM block
 * only, so a new block or a full packet sends what is gathered.
 */
export class PageBatcher {
  readonly #pagesPerPacket: number;
  #current: PageBatch | undefined;

  constructor(pagesPerPacket: number) {
    this.#pagesPerPacket = pagesPerPacket;
  }

  /** Adds a page; returns the batches that are now complete, oldest first. */
  add(page: PageRef): PageBatch[] {
    const ready: PageBatch[] = [];
    if (this.#current !== undefined && this.#current.block !== page.block) {
      ready.push(this.#current);
      this.#current = undefined;
    }
    this.#current ??= { block: page.block, offsets: [] };
    this.#current.offsets.push(page.offset);
    if (this.#current.offsets.length >= this.#pagesPerPacket) {
      ready.push(this.#current);
      this.#current = undefined;
    }
    return ready;
  }

  /** Removes and returns the partly-filled batch, if any (it must go out before a SYNC). */
  takePartial(): PageBatch | undefined {
    const partial = this.#current;
    this.#current = undefined;
    return partial;
  }

  get pendingPages(): number {
    return this.#current?.offsets.length ?? 0;
  }
}
