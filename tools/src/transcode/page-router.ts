/**
 * Which channel a page takes, and when a new round must start first. Within one round the
 * destination applies main-channel pages and multifd pages in no set order (the multifd pages of
 * a round land at any time before main passes the round's barrier), so a page touched once in a
 * round, on any channel, may not be touched again until a barrier has passed.
 */
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
  /**
   * Test only: never start a new round for a re-sent page; a copy that multifd would refuse goes
   * on main in the same round. Breaks the ordering on purpose so `migwire check` can catch it.
   */
  unsafeSkipResendBarrier?: boolean;
}

export class PageRouter {
  readonly #o: PageRouterOptions;
  /** Offsets touched in the current round, per block (numbers: no key strings per page). */
  readonly #touched = new Map<string, Set<number>>();

  constructor(o: PageRouterOptions) {
    this.#o = o;
  }

  route(p: RoutedPage): RouteDecision {
    let route: PageRoute = this.#o.channels > 0 && !p.mainOnly && (!p.zero || this.#o.zeroPages === 'multifd') ? 'multifd' : 'main';
    // One channel: the stream order is the order.
    if (this.#o.channels === 0) return { route, newRoundFirst: false };
    let newRoundFirst = false;
    if (this.#touched.get(p.block)?.has(p.offset)) {
      if (this.#o.unsafeSkipResendBarrier) route = 'main';
      else newRoundFirst = true;
    }
    return { route, newRoundFirst };
  }

  /** The page is being sent now (after the barrier its decision asked for). */
  sent(p: RoutedPage): void {
    if (this.#o.channels === 0) return;
    let set = this.#touched.get(p.block);
    if (!set) this.#touched.set(p.block, (set = new Set()));
    set.add(p.offset);
  }

  /** A barrier was issued (for any reason): earlier copies are now ordered. */
  barrierPassed(): void {
    this.#touched.clear();
  }
}
