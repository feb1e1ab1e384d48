/** Format detection: one entry point that reads libpcap or pcapng as a stream of packets. */
import { type ByteSource, ChunkReader } from '../source.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, readLibpcap } from './libpcap.js';
import { type FormatItem, PcapFormatError, view } from './packet.js';
import { PCAPNG_SHB, readPcapng } from './pcapng.js';

/**
 * Frames and notices of a pcap or pcapng file, in file order, in bounded memory. With `peek`,
 * libpcap frames longer than that come with only their first bytes and a `more()` to read the
 * rest (otherwise skipped unread: a seek on a SeekableFile).
 */
export async function* readPackets(source: ByteSource, options: { peek?: number } = {}): AsyncGenerator<FormatItem> {
  const reader = new ChunkReader(source);
  try {
    const magic = await reader.read(4);
    if (magic.length < 4) throw new PcapFormatError('file too short for a capture', 0);
    const v = view(magic);
    const be = v.getUint32(0, false);
    const le = v.getUint32(0, true);
    if (be === PCAPNG_SHB) yield* readPcapng(reader);
    else if ([be, le].some((m) => m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS)) yield* readLibpcap(reader, magic, options.peek);
    else throw new PcapFormatError('neither a pcap nor a pcapng file', 0);
  } finally {
    await reader.close();
  }
}

/** Does a file start like a capture (pcap or pcapng; not gzip-aware)? */
export function looksLikePcap(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const v = view(head);
  const be = v.getUint32(0, false);
  const le = v.getUint32(0, true);
  return be === PCAPNG_SHB || [be, le].some((m) => m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS);
}
