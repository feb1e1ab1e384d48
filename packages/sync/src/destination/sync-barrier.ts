import { SyncError, SyncErrorCode, assertChannelId, multifdChannelName } from '../errors.js';
import type { FlushMode } from '../flush-mode.js';

/** Where a channel's SYNC packet was seen (both optional: live callers may not track them). */
export interface SyncArrival {
  channel: number;
  packetNum?: number;
  offset?: number;
}

export interface BarrierRelease {
  /** 0 for the first barrier passed, then 1, 2, ... */
  index: number;
  /** The SYNC consumed from each channel, in channel-id order. */
  syncs: readonly SyncArrival[];
}

export interface SyncBarrierOptions {
  /** Number of multifd channels (ids 0..channels-1, from each channel's init message). */
  channels: number;
  mode: FlushMode;
}

/**
 * Destination side of the multifd barrier as a synchronous state machine, so the same rules run
 * live (see LiveSyncBarrier) and over a recorded timeline (see replaySyncTimeline).
 *
 * A channel that delivered a SYNC is held (its reader must not go on) until main reaches its
 * barrier record (FLUSH, or EOS in per-section mode) and every channel has delivered one; then
 * release() consumes one SYNC per channel and main and the channels all proceed.
 */
export class SyncBarrier {
  readonly channels: number;
  readonly mode: FlushMode;
  readonly #pending: SyncArrival[][];
  #mainWaitingAt: number | undefined;
  #mainWaiting = false;
  #passed = 0;

  constructor(options: SyncBarrierOptions) {
    if (!Number.isInteger(options.channels) || options.channels < 1) {
      throw new SyncError({
        code: SyncErrorCode.InvalidArgument,
        message: 'the barrier needs at least one multifd channel',
        found: String(options.channels),
      });
    }
    this.channels = options.channels;
    this.mode = options.mode;
    this.#pending = Array.from({ length: options.channels }, () => []);
  }

  /** Barriers passed so far. */
  get passed(): number {
    return this.#passed;
  }

  get mainWaiting(): boolean {
    return this.#mainWaiting;
  }

  /** Records a SYNC packet from a channel. Several may queue up in a recording; each barrier consumes one. */
  syncArrived(arrival: SyncArrival): void {
    assertChannelId(arrival.channel, this.channels);
    this.#pendingOf(arrival.channel).push({ ...arrival });
  }

  /** True while the channel has a SYNC that main has not released: its reader must pause. */
  channelHeld(channel: number): boolean {
    assertChannelId(channel, this.channels);
    return this.#pendingOf(channel).length > 0;
  }

  /** Main has read its barrier record; it may not read on until canProceed(). */
  mainArrived(offset?: number): void {
    if (this.#mainWaiting) {
      throw new SyncError({
        code: SyncErrorCode.InvalidState,
        message: 'main reached a barrier while still held at the previous one',
        channel: 'main',
        ...(offset === undefined ? {} : { offset }),
        expected: 'release() of the previous barrier first',
        found: `barrier ${this.#passed + 1}`,
      });
    }
    this.#mainWaiting = true;
    this.#mainWaitingAt = offset;
  }

  /** Main is at a barrier and every channel has delivered its SYNC. */
  canProceed(): boolean {
    return this.#mainWaiting && this.#pending.every((q) => q.length > 0);
  }

  /** Channels main is still waiting for (empty when it may proceed or is not at a barrier). */
  missingChannels(): number[] {
    if (!this.#mainWaiting) return [];
    const missing: number[] = [];
    this.#pending.forEach((q, channel) => {
      if (q.length === 0) missing.push(channel);
    });
    return missing;
  }

  /** Passes the barrier: consumes one SYNC per channel and lets main and the channels go on. */
  release(): BarrierRelease {
    if (!this.canProceed()) {
      const missing = this.missingChannels();
      throw new SyncError({
        code: SyncErrorCode.InvalidState,
        message: this.#mainWaiting ? 'barrier released before every channel delivered its SYNC' : 'barrier released while main is not at one',
        channel: missing.length > 0 ? missing.map(multifdChannelName).join(', ') : 'main',
        ...(this.#mainWaitingAt === undefined ? {} : { offset: this.#mainWaitingAt }),
        expected: 'main at FLUSH/EOS and a SYNC from every channel',
        found: this.#mainWaiting ? `no SYNC yet from ${missing.length} channel(s)` : 'main not at a barrier',
      });
    }
    const syncs = this.#pending.map((q) => q.shift() as SyncArrival);
    this.#mainWaiting = false;
    this.#mainWaitingAt = undefined;
    return { index: this.#passed++, syncs };
  }

  #pendingOf(channel: number): SyncArrival[] {
    // assertChannelId ran first, so the queue exists.
    return this.#pending[channel] as SyncArrival[];
  }
}
