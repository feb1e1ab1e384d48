import { Command, type MainRecord, type MultifdRecord } from '@migwire/stream-codec';
import { SyncError, SyncErrorCode, multifdChannelName } from '../errors.js';

export type DestinationPhase = 'precopy' | 'postcopy-listen' | 'postcopy-run';

/**
 * Destination-side check that nothing lands through multifd once postcopy listens: from then on
 * vCPUs may run on the pages, and a late multifd page would overwrite memory in use.
 */
export class MultifdPostcopyAssertion {
  #phase: DestinationPhase = 'precopy';

  get phase(): DestinationPhase {
    return this.#phase;
  }

  /** Feed main-channel records (any depth: LISTEN and RUN travel inside PACKAGED). */
  observeMain(record: MainRecord): void {
    if (record.kind !== 'command') return;
    if (record.command === Command.PostcopyListen) this.postcopyListen();
    else if (record.command === Command.PostcopyRun) this.postcopyRun();
  }

  postcopyListen(): void {
    if (this.#phase === 'precopy') this.#phase = 'postcopy-listen';
  }

  postcopyRun(): void {
    this.#phase = 'postcopy-run';
  }

  /**
   * Feed every record read from multifd channel `channel`. Throws MULTIFD_AFTER_POSTCOPY (with the
   * channel, packet number and byte offset) for a RAM packet carrying pages after LISTEN/RUN.
   * Empty packets (a SYNC alone) carry no memory and pass.
   */
  checkPacket(channel: number, record: MultifdRecord): void {
    if (this.#phase === 'precopy' || record.kind !== 'multifd-packet') return;
    const pages = record.normalPages + record.zeroPages;
    if (pages === 0) return;
    throw new SyncError({
      code: SyncErrorCode.MultifdAfterPostcopy,
      message: `multifd packet with pages arrived after ${this.#phase === 'postcopy-run' ? 'POSTCOPY_RUN' : 'POSTCOPY_LISTEN'}`,
      channel: multifdChannelName(channel),
      offset: record.offset,
      packetNum: record.packetNum,
      expected: 'no multifd pages once postcopy listens',
      found: `${pages} page(s) of "${record.block}"`,
    });
  }
}
