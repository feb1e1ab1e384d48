import type { MainRecord } from '@migwire/stream-codec';
import type { FlushMode } from '../flush-mode.js';

/**
 * Is this main-channel record one the destination syncs on? MULTIFD_FLUSH always is (the 8.0+
 * loader syncs on it whatever the mode; a per-section source never writes it). The RAM EOS is one
 * only in per-section mode. Stop asking once postcopy listens: the postcopy loader never syncs.
 */
export function isMainBarrier(record: MainRecord, mode: FlushMode): boolean {
  if (record.kind === 'ram-multifd-flush') return true;
  return mode === 'per-section' && record.kind === 'ram-eos';
}

/**
 * The barriers of a recording, whose flush mode is not known up front: the first MULTIFD_FLUSH or
 * RAM EOS seen decides it (an 8.0+ source flushes inside its setup section, before that section's
 * EOS; a per-section source never writes FLUSH), and from then on only that kind counts.
 */
export class RecordedBarriers {
  #mode: FlushMode | undefined;
  #count = 0;

  get mode(): FlushMode | undefined {
    return this.#mode;
  }

  /** Barriers seen so far: the number of the round main is in. */
  get count(): number {
    return this.#count;
  }

  /** Feed every main-channel record; true when it is a barrier (and counted). */
  observe(record: MainRecord): boolean {
    if (record.kind === 'ram-multifd-flush') this.#mode ??= 'per-round';
    else if (record.kind === 'ram-eos') this.#mode ??= 'per-section';
    else return false;
    if ((record.kind === 'ram-multifd-flush') !== (this.#mode === 'per-round')) return false;
    this.#count++;
    return true;
  }
}
