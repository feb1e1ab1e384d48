import { Command, type MainRecord, type MultifdRecord } from '@migwire/stream-codec';
import { SyncError, SyncErrorCode, multifdChannelName } from '../errors.js';

export type DestinationPhase = 'precopy' | 'postcopy-listen' | 'postcopy-run';

/**
 * Destination-side check that nothing lands through multifd once postcopy listens: from then on
 * vCPUs may run on the pages, and a late multifd page would overwrite memory in use.
 */
export interface PostcopyAssertionOptions {
  /**
   * Refuse empty packets (a SYNC alone) too. QEMU 10.1+ runs multifd with postcopy and sends its
   * last SYNCs before LISTEN; nothing may follow on multifd after it. Default: only pages count.
   */
  refuseEmptyPackets?: boolean;
}

export class MultifdPostcopyAssertion {
  #phase: DestinationPhase = 'precopy';
  #listenAt: number | undefined;
  #runAt: number | undefined;
  readonly #strict: boolean;

  constructor(o: PostcopyAssertionOptions = {}) {
    this.#strict = o.refuseEmptyPackets === true;
  }

  get phase(): DestinationPhase {
    return this.#phase;
  }

  /**
   * Feed main-channel records (any depth: LISTEN and RUN travel inside PACKAGED). With `at`
   * (arrival time), packets checked later with their own arrival time are placed by time: a
   * recording can then be fed main first and the multifd channels after it.
   */
  observeMain(record: MainRecord, at?: number): void {
    if (record.kind !== 'command') return;
    if (record.command === Command.PostcopyListen) this.postcopyListen(at);
    else if (record.command === Command.PostcopyRun) this.postcopyRun(at);
  }

  postcopyListen(at?: number): void {
    if (this.#phase === 'precopy') {
      this.#phase = 'postcopy-listen';
      this.#listenAt = at;
    }
  }

  postcopyRun(at?: number): void {
    if (this.#phase !== 'postcopy-run') this.#runAt = at;
    this.#phase = 'postcopy-run';
  }

  /** The phase at arrival time `at` (the latest phase when either time is unknown). */
  phaseAt(at: number | undefined): DestinationPhase {
    if (at === undefined || this.#phase === 'precopy') return this.#phase;
    if (this.#runAt !== undefined && at >= this.#runAt) return 'postcopy-run';
    if (this.#listenAt === undefined) return this.#phase;
    return at >= this.#listenAt ? 'postcopy-listen' : 'precopy';
  }

  /**
   * Feed every record read from multifd channel `channel`. Throws MULTIFD_AFTER_POSTCOPY (with the
   * channel, packet number and byte offset) for a RAM packet carrying pages after LISTEN/RUN.
   * Empty packets (a SYNC alone) carry no memory and pass, unless refuseEmptyPackets.
   */
  checkPacket(channel: number, record: MultifdRecord, at?: number): void {
    const phase = this.phaseAt(at);
    if (phase === 'precopy' || record.kind !== 'multifd-packet') return;
    const pages = record.normalPages + record.zeroPages;
    if (pages === 0 && !this.#strict) return;
    throw new SyncError({
      code: SyncErrorCode.MultifdAfterPostcopy,
      message: `multifd ${pages === 0 ? 'SYNC packet' : 'packet with pages'} arrived after ${phase === 'postcopy-run' ? 'POSTCOPY_RUN' : 'POSTCOPY_LISTEN'}`,
      channel: multifdChannelName(channel),
      offset: record.offset,
      // A packet number beyond 2^53 (never sent by QEMU) is left out rather than rounded.
      ...(typeof record.packetNum === 'number' ? { packetNum: record.packetNum } : {}),
      expected: this.#strict ? 'nothing on multifd once postcopy listens' : 'no multifd pages once postcopy listens',
      found: pages === 0 ? 'an empty packet' : `${pages} page(s) of "${record.block}"`,
    });
  }
}
