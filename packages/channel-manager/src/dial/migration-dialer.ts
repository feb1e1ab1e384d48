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
    const out: Socket[] = [];
    for (let i = 0; i < n; i++) out.push(await this.dialer.dial());
    this.multifdOpened += n;
    return out;
  }

  openPreempt(): Promise<Socket> {
    if (!this.mainOpened) throw new Error('open the main channel before the postcopy-preempt channel');
    return this.dialer.dial();
  }
}
