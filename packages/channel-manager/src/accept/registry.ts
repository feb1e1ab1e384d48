/**
 * Which channel each incoming connection is, and when the set is complete:
 * main (by magic), multifd channels (by magic and init-message id), then the
 * postcopy-preempt channel, which sends no header and is known by position
 * (the first connection after main and every multifd channel). A connection
 * with no header while main is gone is main reconnecting (postcopy recovery).
 */
import { ArrivalOrder, type ArrivalLayout, type ChannelIdentity, type ChannelRole } from '@migwire/stream-codec';
import { ChannelError, ChannelErrorCode } from '../errors.js';

/** Where a multifd init message names its channel id. */
const MULTIFD_ID_OFFSET = 24;

/** Multifd channel count and postcopy-preempt, as the proxy knows them. */
export type ChannelLayout = ArrivalLayout;

export interface AssignedChannel {
  connection: number;
  /** One of main, multifd, postcopy-preempt, main-recovery, main(tls), multifd(tls), empty, other. */
  role: ChannelRole;
  multifdId?: number;
}

export class ChannelRegistry {
  private readonly order: ArrivalOrder;
  readonly assigned: AssignedChannel[] = [];

  constructor(layout: ChannelLayout = {}) {
    this.order = new ArrivalOrder(layout);
  }

  /** Main and every expected multifd channel are there (QEMU's "all channels established"). */
  get allEstablished(): boolean {
    return this.order.allEstablished;
  }

  /**
   * Assign a role from what the connection's first bytes identify (identifyChannel, with
   * postcopyPreempt: false: headerless channels are named here, by position); undefined: it sent
   * nothing.
   */
  assign(connection: number, first: ChannelIdentity | undefined): AssignedChannel {
    const out = this.decide(connection, first);
    this.assigned.push(out);
    return out;
  }

  /** The main channel closed (a later headerless connection is a recovery). */
  mainClosed(): void {
    this.order.mainClosed();
  }

  private decide(connection: number, first: ChannelIdentity | undefined): AssignedChannel {
    const v = this.order.assign(connection, first);
    const p = v.problem;
    if (p) {
      const at = { role: v.role, offset: v.role === 'multifd' ? MULTIFD_ID_OFFSET : 0 };
      switch (p.kind) {
        case 'duplicate-main':
          throw new ChannelError(ChannelErrorCode.DuplicateMain, connection, 'a second main channel while the first is open', at);
        case 'too-many-multifd':
          throw new ChannelError(ChannelErrorCode.TooManyChannels, connection, `more than ${p.max} multifd channels`, at);
        case 'multifd-id-out-of-range':
          throw new ChannelError(ChannelErrorCode.TooManyChannels, connection, `multifd channel id ${p.id} with ${p.max} channels`, at);
        case 'duplicate-multifd-id':
          throw new ChannelError(ChannelErrorCode.DuplicateChannelId, connection, `multifd channel id ${p.id} seen twice (first on connection ${p.firstConnection})`, at);
        case 'unknown-magic':
          throw new ChannelError(ChannelErrorCode.UnknownMagic, connection, 'connection starts with neither QEVM nor the multifd magic', at);
      }
    }
    return { connection, role: v.role, ...(v.multifdId !== undefined ? { multifdId: v.multifdId } : {}) };
  }
}
