import { MULTIFD_PACKET_SIZE } from '@migwire/stream-codec';
import { SyncError, SyncErrorCode } from '../errors.js';
import type { FlushMode } from '../flush-mode.js';
import { PageBatcher, type PageBatch } from './page-batcher.js';
import { SourcePostcopyGuard } from './postcopy-guard.js';
import { RoundTracker } from './round-tracker.js';
import type { MainChannelSink, MultifdChannelSink, OutgoingPagesPacket, OutgoingSyncPacket, PageRef } from './sinks.js';

export interface FlushCoordinatorOptions {
  mode: FlushMode;
  /** One sink per multifd channel; the index is the channel id. */
  channels: readonly MultifdChannelSink[];
  main: MainChannelSink;
  /** Target page size in bytes (4096 on x86): sets pages per packet to 512 KiB / pageSize. */
  pageSize?: number;
}

/** Why a barrier was issued. */
export type FlushReason = 'setup' | 'scan-wrap' | 'section-end' | 'new-round' | 'postcopy';

/**
 * The main-channel record the destination will sync on for this barrier:
 * 'flush' = we wrote MULTIFD_FLUSH; 'eos' = the caller must now write the RAM section's EOS.
 */
export type MainBarrierMarker = 'flush' | 'eos';

export interface FlushReport {
  reason: FlushReason;
  /** The round this barrier closed. */
  closedRound: number;
  /** The partly-filled packet sent ahead of the SYNCs, if there was one. */
  partialPacket: OutgoingPagesPacket | undefined;
  /** One SYNC per channel, in the order they were queued. */
  syncs: readonly OutgoingSyncPacket[];
  marker: MainBarrierMarker;
}

export type QueueOutcome =
  | {
      status: 'queued';
      round: number;
      /** Packets this call completed and handed to channels (usually none: pages gather first). */
      sent: readonly OutgoingPagesPacket[];
    }
  | {
      /**
       * The page was already queued in this round and was NOT queued again. Issue a barrier first
       * (newRound(), or in per-section mode end the section), then queue it again.
       */
      status: 'needs-new-round';
      round: number;
      page: PageRef;
    };

/**
 * Source side of the multifd barrier: batches pages onto channels round-robin, and at each barrier
 * sends any partly-filled packet, then a SYNC on every channel, then (per-round mode) MULTIFD_FLUSH
 * on main, so the FLUSH is behind every SYNC it stands for.
 */
export class MultifdFlushCoordinator {
  readonly mode: FlushMode;
  readonly #channels: readonly MultifdChannelSink[];
  readonly #main: MainChannelSink;
  readonly #batcher: PageBatcher;
  readonly #rounds = new RoundTracker();
  readonly #postcopy = new SourcePostcopyGuard();
  #nextChannel = 0;
  #nextPacketNum = 0;

  constructor(options: FlushCoordinatorOptions) {
    if (options.channels.length === 0) {
      throw new SyncError({
        code: SyncErrorCode.InvalidArgument,
        message: 'multifd needs at least one channel',
        expected: '>= 1 channel',
        found: '0',
      });
    }
    const pageSize = options.pageSize ?? 4096;
    if (!Number.isInteger(pageSize) || pageSize <= 0 || MULTIFD_PACKET_SIZE % pageSize !== 0) {
      throw new SyncError({
        code: SyncErrorCode.InvalidArgument,
        message: 'page size must divide the 512 KiB multifd packet',
        found: String(pageSize),
      });
    }
    this.mode = options.mode;
    this.#channels = options.channels;
    this.#main = options.main;
    this.#batcher = new PageBatcher(MULTIFD_PACKET_SIZE / pageSize);
  }

  get round(): number {
    return this.#rounds.round;
  }

  get inPostcopy(): boolean {
    return this.#postcopy.began;
  }

  /** Pages gathered but not yet handed to a channel. */
  get pendingPages(): number {
    return this.#batcher.pendingPages;
  }

  /**
   * Queues one page for multifd. Throws MULTIFD_IN_POSTCOPY after startPostcopy(); returns
   * 'needs-new-round' (without queuing) if the page was already queued in this round.
   */
  queuePage(page: PageRef): QueueOutcome {
    this.#postcopy.assertMayQueue(page);
    if (this.#rounds.has(page)) return { status: 'needs-new-round', round: this.#rounds.round, page };
    this.#rounds.add(page);
    const sent = this.#batcher.add(page).map((batch) => this.#sendBatch(batch));
    return { status: 'queued', round: this.#rounds.round, sent };
  }

  /** Call once in RAM setup, right before the setup section's EOS. Both modes sync here. */
  setup(): FlushReport {
    return this.#barrier('setup');
  }

  /** Call when the dirty-page scan wraps past the last RAM block. Per-round mode only; no-op in postcopy. */
  scanWrapped(): FlushReport | undefined {
    if (this.mode !== 'per-round' || this.#postcopy.began) return undefined;
    return this.#barrier('scan-wrap');
  }

  /** Call right before every later RAM EOS (iterate and complete). Per-section mode only; no-op in postcopy. */
  beforeSectionEnd(): FlushReport | undefined {
    if (this.mode !== 'per-section' || this.#postcopy.began) return undefined;
    return this.#barrier('section-end');
  }

  /**
   * Explicit barrier, e.g. after a 'needs-new-round' outcome. In per-section mode the destination
   * only syncs on EOS, so the report's marker tells the caller to end the section now.
   */
  newRound(): FlushReport {
    this.#refuseInPostcopy('newRound');
    return this.#barrier('new-round');
  }

  /**
   * Final flush+sync before postcopy starts (before POSTCOPY_LISTEN is sent), then closes multifd
   * for pages. In per-section mode the caller must end the RAM section (marker 'eos') before it.
   */
  startPostcopy(): FlushReport {
    this.#refuseInPostcopy('startPostcopy');
    const report = this.#barrier('postcopy');
    this.#postcopy.begin();
    return report;
  }

  #barrier(reason: FlushReason): FlushReport {
    const partial = this.#batcher.takePartial();
    // The partly-filled packet must leave before the SYNCs, or its pages would fall into the next round.
    const partialPacket = partial === undefined ? undefined : this.#sendBatch(partial);
    const syncs: OutgoingSyncPacket[] = [];
    this.#channels.forEach((sink, channel) => {
      const packet: OutgoingSyncPacket = { channel, packetNum: this.#nextPacketNum++ };
      sink.sendSync(packet);
      syncs.push(packet);
    });
    let marker: MainBarrierMarker = 'eos';
    if (this.mode === 'per-round') {
      this.#main.writeMultifdFlush();
      marker = 'flush';
    }
    const closedRound = this.#rounds.round;
    this.#rounds.nextRound();
    return { reason, closedRound, partialPacket, syncs, marker };
  }

  #sendBatch(batch: PageBatch): OutgoingPagesPacket {
    const channel = this.#nextChannel;
    this.#nextChannel = (this.#nextChannel + 1) % this.#channels.length;
    const packet: OutgoingPagesPacket = { channel, packetNum: this.#nextPacketNum++, block: batch.block, offsets: batch.offsets };
    this.#channels[channel]?.sendPages(packet);
    return packet;
  }

  #refuseInPostcopy(what: string): void {
    if (!this.#postcopy.began) return;
    throw new SyncError({
      code: SyncErrorCode.InvalidState,
      message: `${what}() after postcopy began: multifd is closed`,
      expected: 'precopy',
      found: 'postcopy',
    });
  }
}
