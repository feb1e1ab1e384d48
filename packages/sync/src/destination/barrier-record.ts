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
