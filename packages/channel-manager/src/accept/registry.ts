/**
 * Which channel each incoming connection is, and when the set is complete:
 * main (by magic), multifd channels (by magic and init-message id), then the
 * postcopy-preempt channel, which sends no header and is known by position
 * (the first connection after main and every multifd channel). A connection
 * with no header while main is gone is main reconnecting (postcopy recovery).
 */
import type { ChannelIdentity, ChannelRole } from '@migwire/stream-codec';
import { ChannelError, ChannelErrorCode } from '../errors.js';

/** Where a multifd init message names its channel id. */
const MULTIFD_ID_OFFSET = 24;

export interface ChannelLayout {
  /** Multifd channels the migration uses (0 without multifd); undefined when unknown. */
  multifdChannels?: number;
  /** postcopy-preempt capability on. */
  postcopyPreempt?: boolean;
}

export interface AssignedChannel {
  connection: number;
  /** One of main, multifd, postcopy-preempt, main-recovery, main(tls), multifd(tls), empty, other. */
  role: ChannelRole;
  multifdId?: number;
}

export class ChannelRegistry {
  private main = -1;
  private mainOpen = false;
  private readonly multifd = new Map<number, number>(); // id -> connection
  private preempt = -1;
  private tlsMultifd = 0;
  readonly assigned: AssignedChannel[] = [];

  constructor(private readonly layout: ChannelLayout = {}) {}

  /** Main and every expected multifd channel are there (QEMU's "all channels established"). */
  get allEstablished(): boolean {
    if (this.main < 0) return false;
    if (this.layout.multifdChannels === undefined) return true;
    return this.multifd.size + this.tlsMultifd >= this.layout.multifdChannels;
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
    this.mainOpen = false;
  }

  private decide(connection: number, first: ChannelIdentity | undefined): AssignedChannel {
    if (!first) return { connection, role: 'empty' };
    switch (first.role) {
      case 'tls':
        // Encrypted: only the order tells (the first is main; QEMU relies on the same).
        if (this.main < 0) {
          this.main = connection;
          this.mainOpen = true;
          return { connection, role: 'main(tls)' };
        }
        if (this.layout.multifdChannels !== undefined && this.tlsMultifd >= this.layout.multifdChannels) {
          throw new ChannelError(ChannelErrorCode.TooManyChannels, connection, `more than ${this.layout.multifdChannels} multifd channels`, { role: 'multifd(tls)', offset: 0 });
        }
        this.tlsMultifd++;
        return { connection, role: 'multifd(tls)' };
      case 'main':
        if (this.main >= 0 && this.mainOpen) throw new ChannelError(ChannelErrorCode.DuplicateMain, connection, 'a second main channel while the first is open', { role: 'main', offset: 0 });
        this.main = connection;
        this.mainOpen = true;
        return { connection, role: 'main' };
      case 'multifd': {
        const id = first.multifdId ?? -1;
        const max = this.layout.multifdChannels;
        const at = { role: 'multifd', offset: MULTIFD_ID_OFFSET } as const;
        if (max !== undefined && this.multifd.size >= max) throw new ChannelError(ChannelErrorCode.TooManyChannels, connection, `more than ${max} multifd channels`, at);
        if (max !== undefined && id >= max) throw new ChannelError(ChannelErrorCode.TooManyChannels, connection, `multifd channel id ${id} with ${max} channels`, at);
        if (this.multifd.has(id)) throw new ChannelError(ChannelErrorCode.DuplicateChannelId, connection, `multifd channel id ${id} seen twice (first on connection ${this.multifd.get(id)})`, at);
        this.multifd.set(id, connection);
        return { connection, role: 'multifd', multifdId: id };
      }
      default:
        // Headerless ('other', or 'empty' for a silent connection): known by position.
        if (this.main >= 0 && !this.mainOpen) return { connection, role: 'main-recovery' };
        if (this.allEstablished && this.preempt < 0 && this.layout.postcopyPreempt !== false) {
          this.preempt = connection;
          return { connection, role: 'postcopy-preempt' };
        }
        if (this.layout.postcopyPreempt === false || this.main < 0) {
          throw new ChannelError(ChannelErrorCode.UnknownMagic, connection, 'connection starts with neither QEVM nor the multifd magic', { role: 'other', offset: 0 });
        }
        return { connection, role: 'other' };
    }
  }
}
