/**
 * Libpcap files of TCP connections as one migration's channels (raw-pcap.ts writes the packets):
 * each connection's source bytes in segments of a chosen size, with or without the SYN, then a FIN.
 */
import { ipPacket, writeRawPcap, type RawPacket } from './raw-pcap.js';

export interface PcapConnection {
  /** Source-to-destination bytes. */
  bytes: Uint8Array;
  /** Source port (each connection its own). */
  port: number;
  /** First byte captured (a capture started mid-stream has no SYN); default 0, with the SYN. */
  from?: number;
}

const DST_PORT = 4444;
const ISN = 1000;
const SYN = 0x02;
const FIN_ACK = 0x11;
const PSH_ACK = 0x18;

/**
 * The connections side by side, as one migration's channels are: opened in order, their segments
 * (`segment` bytes each) taking turns, then closed in order; 10 µs between packets.
 */
export function tcpPcap(connections: PcapConnection[], segment: number): Buffer {
  const ips: Uint8Array[] = [];
  const at = connections.map((c) => c.from ?? 0);
  for (const c of connections) if ((c.from ?? 0) === 0) ips.push(ipPacket(c.port, DST_PORT, ISN, SYN));
  for (let more = true; more; ) {
    more = false;
    connections.forEach((c, i) => {
      const off = at[i]!;
      if (off >= c.bytes.length) return;
      ips.push(ipPacket(c.port, DST_PORT, ISN + 1 + off, PSH_ACK, c.bytes.subarray(off, Math.min(off + segment, c.bytes.length))));
      at[i] = off + segment;
      more = true;
    });
  }
  for (const c of connections) ips.push(ipPacket(c.port, DST_PORT, ISN + 1 + c.bytes.length, FIN_ACK));
  return writeRawPcap(ips.map((ip, i): RawPacket => ({ t: i * 10e-6, ip })));
}
