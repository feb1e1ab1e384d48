import type { PageRef } from './sinks.js';

/**
 * Remembers which pages were queued since the last SYNC. A page queued twice in one round could
 * reach the destination out of order (two channels, no barrier between them), so the second copy
 * must wait for a new round.
 */
export class RoundTracker {
  #round = 0;
  // Offsets per block: no key string per page on this hot path.
  #queued = new Map<string, Set<number>>();
  #count = 0;

  /** Number of the current round: 0 before the first SYNC, +1 after each. */
  get round(): number {
    return this.#round;
  }

  get queuedCount(): number {
    return this.#count;
  }

  has(page: PageRef): boolean {
    return this.#queued.get(page.block)?.has(page.offset) === true;
  }

  add(page: PageRef): void {
    let set = this.#queued.get(page.block);
    if (!set) this.#queued.set(page.block, (set = new Set()));
    if (!set.has(page.offset)) {
      set.add(page.offset);
      this.#count++;
    }
  }

  /** Called when every channel has been given its SYNC: earlier copies are now ordered. */
  nextRound(): void {
    this.#round += 1;
    this.#queued.clear();
    this.#count = 0;
  }
}
