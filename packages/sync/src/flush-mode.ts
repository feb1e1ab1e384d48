/**
 * Where QEMU puts the multifd barrier.
 * - 'per-round' (QEMU 8.0+ default): SYNC on every channel plus MULTIFD_FLUSH on main at setup
 *   and whenever the dirty-page scan wraps past the last RAM block; the destination syncs on FLUSH.
 * - 'per-section' (before 8.0, or multifd-flush-after-each-section=on): SYNC before every RAM
 *   EOS, no FLUSH record; the destination syncs on EOS.
 */
export type FlushMode = 'per-round' | 'per-section';

export interface FlushModeSource {
  /** Major version of the QEMU that writes the stream (7 for 7.2, 10 for 10.0). */
  qemuMajor: number;
  /** The multifd-flush-after-each-section property (on for machine types <= 7.2 in 8.0+). */
  flushAfterEachSection?: boolean;
}

/** The flush mode a given QEMU uses: derive it from the release that wrote the stream. */
export function flushModeFor(source: FlushModeSource): FlushMode {
  if (source.qemuMajor < 8) return 'per-section';
  return source.flushAfterEachSection === true ? 'per-section' : 'per-round';
}
