/**
 * Dial side for migration senders: main first, then the multifd channels,
 * then (when postcopy starts) the preempt channel, each connected before the
 * next is opened, as QEMU's destination expects.
 */
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { OrderedDialer, type DialTarget } from './ordered-dialer.js';

export class MigrationDialer {
  private readonly dialer: OrderedDialer;
  private mainOpened = false;
  private multifdOpened = 0;

  constructor(target: DialTarget, tls?: ConnectionOptions) {
    this.dialer = new OrderedDialer(target, tls);
  }

  openMain(): Promise<Socket> {
    if (this.mainOpened) throw new Error('main channel already opened');
    this.mainOpened = true;
    return this.dialer.dial();
  }

  /** Open `n` multifd channels; the caller writes each one's init message (with its id). */
  async openMultifd(n: number): Promise<Socket[]> {
    if (!this.mainOpened) throw new Error('open the main channel before multifd channels');
    // Ask for all of them now: the ordered dialer connects them one after another, and a
    // preempt channel asked for later cannot slip in between.
    const dials = Array.from({ length: n }, () => this.dialer.dial());
    this.multifdOpened += n;
    const settled = await Promise.allSettled(dials);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) {
      for (const r of settled) if (r.status === 'fulfilled') r.value.destroy();
      throw (failed as PromiseRejectedResult).reason;
    }
    return settled.map((r) => (r as PromiseFulfilledResult<Socket>).value);
  }

  openPreempt(): Promise<Socket> {
    if (!this.mainOpened) throw new Error('open the main channel before the postcopy-preempt channel');
    return this.dialer.dial();
  }
}
