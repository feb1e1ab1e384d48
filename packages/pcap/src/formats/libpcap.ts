/** libpcap ("tcpdump") files: both byte orders, micro- and nanosecond magic. */
import type { ChunkReader } from '../source.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from './magic.js';
import { type CapturedPacket, type FormatItem, PcapFormatError, view } from './packet.js';

const FILE_HEADER = 24;
const RECORD_HEADER = 16;
/** Sanity bound on one record (pcap's own maximum snaplen is 256 KiB; allow generous slack). */
const MAX_RECORD = 16 << 20;

/** Reads a libpcap file whose first 4 bytes (`magic4`) were already consumed. */
export async function* readLibpcap(reader: ChunkReader, magic4: Uint8Array, peek = Infinity): AsyncGenerator<FormatItem> {
  const rest = await reader.read(FILE_HEADER - 4);
  if (rest.length < FILE_HEADER - 4) throw new PcapFormatError('pcap file header truncated', reader.offset);
  const m = view(magic4);
  const little = m.getUint32(0, true) === PCAP_MAGIC_US || m.getUint32(0, true) === PCAP_MAGIC_NS;
  const magic = m.getUint32(0, little);
  const fracDivisor = magic === PCAP_MAGIC_NS ? 1e9 : 1e6;
  // The link type shares its 32-bit field with FCS flags in the top bits.
  const linkType = view(rest).getUint32(16, little) & 0x0fffffff;
  let number = 0;
  for (;;) {
    const at = reader.offset;
    const head = await reader.read(RECORD_HEADER);
    if (head.length === 0) return;
    if (head.length < RECORD_HEADER) {
      yield { notice: { kind: 'truncated-file', fileOffset: at, message: 'record header cut short' } };
      return;
    }
    const h = view(head);
    const sec = h.getUint32(0, little);
    const frac = h.getUint32(4, little);
    const capLen = h.getUint32(8, little);
    const origLen = h.getUint32(12, little);
    if (capLen > MAX_RECORD) throw new PcapFormatError(`record length ${capLen} is not plausible`, at);
    const fileOffset = reader.offset;
    const take = Math.min(capLen, peek);
    const data = await reader.read(take);
    number++;
    const cut = (): FormatItem => ({ notice: { kind: 'truncated-file', fileOffset: at, message: `packet ${number} cut short` } });
    if (data.length < take) return yield cut();
    const packet: CapturedPacket = { linkType, interfaceId: 0, time: sec + frac / fracDivisor, data, originalLength: origLen, number, fileOffset };
    let rest = capLen - take;
    // A packet the file holds only in part is not handed out with a length it does not have.
    if (rest > 0 && reader.holds(rest) === false) return yield cut();
    if (rest > 0) {
      packet.capturedLength = capLen;
      packet.more = async () => {
        const tail = await reader.read(rest);
        if (tail.length < rest) throw new PcapFormatError(`packet ${number} cut short`, at);
        rest = 0;
        const whole = new Uint8Array(capLen);
        whole.set(data);
        whole.set(tail, take);
        return whole;
      };
    }
    yield { packet };
    if (rest > 0 && (await reader.skip(rest)) < rest) return yield cut();
  }
}
