/**
 * The first four bytes that tell a capture file's format: libpcap (either byte order, micro- or
 * nanosecond timestamps) or pcapng. Its own module (`@migwire/pcap/magic`) so that telling a
 * capture from a migration stream loads nothing else of the package.
 */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAPNG_SHB = 0x0a0d0d0a;

export type CaptureFormat = 'pcapng' | 'pcap';

/** The format the first 4 bytes announce, or undefined (not gzip-aware). */
export function captureFormat(head: Uint8Array): CaptureFormat | undefined {
  if (head.length < 4) return undefined;
  const v = new DataView(head.buffer, head.byteOffset, 4);
  const be = v.getUint32(0, false);
  const le = v.getUint32(0, true);
  if (be === PCAPNG_SHB) return 'pcapng';
  return [be, le].some((m) => m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS) ? 'pcap' : undefined;
}

/** Does a file start like a capture (pcap or pcapng; not gzip-aware)? */
export function looksLikePcap(head: Uint8Array): boolean {
  return captureFormat(head) !== undefined;
}
