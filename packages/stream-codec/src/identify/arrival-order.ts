/**
 * Naming channels by the order they arrive in, as QEMU's destination does: main and multifd by
 * their first bytes, encrypted channels by position (the first TLS connection is main, later ones
 * multifd), a headerless connection while main is gone is main reconnecting (postcopy recovery),
 * the first headerless one after main and every multifd channel is postcopy-preempt. One rule for
 * the live proxy (ChannelRegistry) and for packet captures.
 */
import type { ChannelIdentity, ChannelRole } from './channel-role.js';

export interface ArrivalLayout {
  /** Multifd channels the migration uses (0 without multifd); undefined when unknown. */
  multifdChannels?: number;
  /** postcopy-preempt capability on; undefined when unknown. */
  postcopyPreempt?: boolean;
}

/** Why a connection does not fit the migration's layout (the role is then not taken). */
export type ArrivalProblem =
  | { kind: 'duplicate-main' }
  | { kind: 'too-many-multifd'; max: number }
  | { kind: 'multifd-id-out-of-range'; id: number; max: number }
  | { kind: 'duplicate-multifd-id'; id: number; firstConnection: number }
  | { kind: 'unknown-magic' };

export interface ArrivalVerdict {
  role: ChannelRole;
  multifdId?: number;
  problem?: ArrivalProblem;
}

export class ArrivalOrder {
  private main = -1;
  private mainOpen = false;
  private readonly multifd = new Map<number, number>(); // id -> connection
  private preempt = -1;
  private tlsMultifd = 0;

  constructor(private readonly layout: ArrivalLayout = {}) {}

  /** Main and every expected multifd channel are there (QEMU's "all channels established"). */
  get allEstablished(): boolean {
    if (this.main < 0) return false;
    if (this.layout.multifdChannels === undefined) return true;
    return this.multifd.size + this.tlsMultifd >= this.layout.multifdChannels;
  }

  /** The main channel closed (a later headerless connection is a recovery). */
  mainClosed(): void {
    this.mainOpen = false;
  }

  /**
   * The role of the next connection to arrive, from what its first bytes identify (undefined: it
   * sent nothing). Headerless identities ('other', 'postcopy-preempt', 'empty') are named by
   * position. With a problem, nothing is recorded.
   */
  assign(connection: number, first: ChannelIdentity | undefined): ArrivalVerdict {
    if (!first) return { role: 'empty' };
    const max = this.layout.multifdChannels;
    switch (first.role) {
      case 'tls':
        if (this.main < 0) {
          this.main = connection;
          this.mainOpen = true;
          return { role: 'main(tls)' };
        }
        if (max !== undefined && this.tlsMultifd >= max) return { role: 'multifd(tls)', problem: { kind: 'too-many-multifd', max } };
        this.tlsMultifd++;
        return { role: 'multifd(tls)' };
      case 'main':
        if (this.main >= 0 && this.mainOpen) return { role: 'main', problem: { kind: 'duplicate-main' } };
        this.main = connection;
        this.mainOpen = true;
        return { role: 'main' };
      case 'multifd': {
        const id = first.multifdId ?? -1;
        const role = { role: 'multifd' as const, multifdId: id };
        if (max !== undefined && this.multifd.size >= max) return { ...role, problem: { kind: 'too-many-multifd', max } };
        if (max !== undefined && id >= max) return { ...role, problem: { kind: 'multifd-id-out-of-range', id, max } };
        const seen = this.multifd.get(id);
        if (seen !== undefined) return { ...role, problem: { kind: 'duplicate-multifd-id', id, firstConnection: seen } };
        this.multifd.set(id, connection);
        return role;
      }
      default:
        if (this.main >= 0 && !this.mainOpen) return { role: 'main-recovery' };
        if (this.allEstablished && this.preempt < 0 && this.layout.postcopyPreempt !== false) {
          this.preempt = connection;
          return { role: 'postcopy-preempt' };
        }
        if (this.layout.postcopyPreempt === false || this.main < 0) return { role: 'other', problem: { kind: 'unknown-magic' } };
        return { role: 'other' };
    }
  }
}
