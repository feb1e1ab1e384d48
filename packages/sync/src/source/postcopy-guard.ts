import { SyncError, SyncErrorCode } from '../errors.js';
import type { PageRef } from './sinks.js';

/**
 * Source-side postcopy latch. Once postcopy begins, the destination's vCPUs run on the pages they
 * have; a multifd page landing later would overwrite memory in use, so multifd is closed for pages.
 */
export class SourcePostcopyGuard {
  #began = false;

  get began(): boolean {
    return this.#began;
  }

  begin(): void {
    this.#began = true;
  }

  /** Throws MULTIFD_IN_POSTCOPY once postcopy has begun. */
  assertMayQueue(page: PageRef): void {
    if (!this.#began) return;
    throw new SyncError({
      code: SyncErrorCode.MultifdInPostcopy,
      message: 'multifd page refused: postcopy has begun (send it on main or the preempt channel)',
      expected: 'no multifd pages after postcopy starts',
      found: `page ${page.block}+0x${page.offset.toString(16)}`,
    });
  }
}
