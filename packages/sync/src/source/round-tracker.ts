import type { PageRef } from './sinks.js';

/**
 * Remembers which pages were queued since the last SYNC. A page queued twice in one round could
 * reach the destination out of order (two channels, no barrier between them), so the second copy
 * must wait for a new round.
 */
export class RoundTracker {
  #round = 0;
  #queued = new Set<string>();

  /** Number of the current round: 0 before the first SYNC, +1 after each. */
  get round(): number {
    return this.#round;
  }

  get queuedCount(): number {
    return this.#queued.size;
  }

  has(page: PageRef): boolean {
    return this.#queued.has(keyOf(page));
  }

  add(page: PageRef): void {
    this.#queued.add(keyOf(page));
  }

  /** Called when every channel has been given its SYNC: earlier copies are now ordered. */
  nextRound(): void {
    this.#round += 1;
    this.#queued.clear();
  }
}

// NUL cannot occur in a RAM block idstr, so the key is unambiguous.
function keyOf(page: PageRef): string {
  return `${page.block}\u0000${page.offset}`;
}
