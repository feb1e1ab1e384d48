import { SyncBarrier, type BarrierRelease, type SyncArrival, type SyncBarrierOptions } from './sync-barrier.js';

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (reason: Error) => void;
}

/**
 * Promise face of SyncBarrier for live use: the main reader awaits onMainBarrier() at FLUSH/EOS,
 * each channel reader awaits onChannelSync() after a SYNC packet; all resume together.
 */
export class LiveSyncBarrier {
  readonly state: SyncBarrier;
  #main: Waiter<BarrierRelease> | undefined;
  readonly #channelWaiters: Waiter<void>[][];
  #aborted: Error | undefined;

  constructor(options: SyncBarrierOptions) {
    this.state = new SyncBarrier(options);
    this.#channelWaiters = Array.from({ length: options.channels }, () => []);
  }

  /** Main read its barrier record: resolves once every channel has delivered its SYNC. */
  onMainBarrier(offset?: number): Promise<BarrierRelease> {
    if (this.#aborted !== undefined) return Promise.reject(this.#aborted);
    this.state.mainArrived(offset);
    const done = new Promise<BarrierRelease>((resolve, reject) => {
      this.#main = { resolve, reject };
    });
    this.#tryRelease();
    return done;
  }

  /** A channel read a SYNC packet: resolves when main releases it, after which the reader goes on. */
  onChannelSync(arrival: SyncArrival): Promise<void> {
    if (this.#aborted !== undefined) return Promise.reject(this.#aborted);
    this.state.syncArrived(arrival);
    const done = new Promise<void>((resolve, reject) => {
      this.#channelWaiters[arrival.channel]?.push({ resolve, reject });
    });
    this.#tryRelease();
    return done;
  }

  /** A channel or main failed: reject every waiter so no reader hangs. */
  abort(reason: Error): void {
    this.#aborted = reason;
    this.#main?.reject(reason);
    this.#main = undefined;
    for (const waiters of this.#channelWaiters) {
      for (const w of waiters.splice(0)) w.reject(reason);
    }
  }

  #tryRelease(): void {
    if (!this.state.canProceed()) return;
    const release = this.state.release();
    for (const waiters of this.#channelWaiters) waiters.shift()?.resolve();
    const main = this.#main;
    this.#main = undefined;
    main?.resolve(release);
  }
}
