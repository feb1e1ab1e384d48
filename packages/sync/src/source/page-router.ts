/**
 * Which channel a page takes, and when a new round must start first. Within one round the
 * destination applies main-channel pages and multifd pages in no set order (the multifd pages of
 * a round land at any time before main passes the round's barrier), so a page touched once in a
 * round, on any channel, may not be touched again until a barrier has passed. The pages touched
 * in the current round are the RoundTracker's, the same the flush coordinator keeps.
 */
import { RoundTracker } from './round-tracker.js';

export type PageRoute = 'main' | 'multifd';

export interface RoutedPage {
  block: string;
  offset: number;
  /** A zero page (ZERO record, or a multifd zero-page offset). */
  zero: boolean;
  /** XBZRLE or legacy compressed pages exist only as main-channel records. */
  mainOnly?: boolean;
}

export interface RouteDecision {
  route: PageRoute;
  /** Issue a barrier before sending this page (then call sent()): an earlier copy is still in the current round. */
  newRoundFirst: boolean;
}

export interface PageRouterOptions {
  /** Multifd channels on the output (0: everything on main). */
  channels: number;
  /** 'legacy': zero pages as ZERO records on main, as QEMU's zero-page-detection=legacy does. */
  zeroPages: 'multifd' | 'legacy';
}

export class PageRouter {
  readonly #o: PageRouterOptions;
  readonly #touched = new RoundTracker();

  constructor(o: PageRouterOptions) {
    this.#o = o;
  }

  route(p: RoutedPage): RouteDecision {
    const route: PageRoute = this.#o.channels > 0 && !p.mainOnly && (!p.zero || this.#o.zeroPages === 'multifd') ? 'multifd' : 'main';
    // One channel: the stream order is the order.
    if (this.#o.channels === 0) return { route, newRoundFirst: false };
    return { route, newRoundFirst: this.#touched.has(p) };
  }

  /** The page is being sent now (after the barrier its decision asked for). */
  sent(p: RoutedPage): void {
    if (this.#o.channels > 0) this.#touched.add(p);
  }

  /** A barrier was issued (for any reason): earlier copies are now ordered. */
  barrierPassed(): void {
    this.#touched.nextRound();
  }
}
