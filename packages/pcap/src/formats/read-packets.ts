/** Format detection: one entry point that reads libpcap or pcapng as a stream of packets. */
import { type ByteSource, ChunkReader } from '../source.js';
import { readLibpcap } from './libpcap.js';
import { captureFormat } from './magic.js';
import { type FormatItem, PcapFormatError } from './packet.js';
import { readPcapng } from './pcapng.js';

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
    const format = captureFormat(magic);
    if (format === 'pcapng') yield* readPcapng(reader);
    else if (format === 'pcap') yield* readLibpcap(reader, magic, options.peek);
    else throw new PcapFormatError('neither a pcap nor a pcapng file', 0);
  } finally {
    await reader.close();
  }
}
