/**
 * Libpcap files (raw IPv4, loopback addresses) of TCP connections written by the tests: each
 * connection's source bytes in segments of a chosen size, with or without the SYN, then a FIN.
 */
import { LinkType } from '@migwire/pcap';

export interface PcapConnection {
  /** Source-to-destination bytes. */
  bytes: Uint8Array;
  /** Source port (each connection its own). */
  port: number;
  /** First byte captured (a capture started mid-stream has no SYN); default 0, with the SYN. */
  from?: number;
}

const SYN = 0x02;
const FIN_ACK = 0x11;
const PSH_ACK = 0x18;

function packet(port: number, seq: number, flags: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(40 + payload.length);
  const v = new DataView(p.buffer);
  v.setUint8(0, 0x45);
  v.setUint16(2, p.length);
  v.setUint16(6, 0x4000);
  v.setUint8(8, 64);
  v.setUint8(9, 6);
  p.set([127, 0, 0, 1], 12);
  p.set([127, 0, 0, 1], 16);
  v.setUint16(20, port);
  v.setUint16(22, 4444);
  v.setUint32(24, seq >>> 0);
  v.setUint32(28, 1);
  v.setUint8(32, 0x50);
  v.setUint8(33, flags);
  v.setUint16(34, 65535);
  p.set(payload, 40);
  return p;
}

/**
 * The connections side by side, as one migration's channels are: opened in order, their segments
 * (`segment` bytes each) taking turns, then closed in order.
 */
export function tcpPcap(connections: PcapConnection[], segment: number): Buffer {
  const isn = 1000;
  const packets: Uint8Array[] = [];
  const at = connections.map((c) => c.from ?? 0);
  for (const c of connections) if ((c.from ?? 0) === 0) packets.push(packet(c.port, isn, SYN, new Uint8Array(0)));
  for (let more = true; more; ) {
    more = false;
    connections.forEach((c, i) => {
      const off = at[i]!;
      if (off >= c.bytes.length) return;
      packets.push(packet(c.port, isn + 1 + off, PSH_ACK, c.bytes.subarray(off, Math.min(off + segment, c.bytes.length))));
      at[i] = off + segment;
      more = true;
    });
  }
  for (const c of connections) packets.push(packet(c.port, isn + 1 + c.bytes.length, FIN_ACK, new Uint8Array(0)));
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(LinkType.Raw, 20);
  const parts: Buffer[] = [head];
  packets.forEach((p, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000, 0);
    rec.writeUInt32LE(i * 10, 4);
    rec.writeUInt32LE(p.length, 8);
    rec.writeUInt32LE(p.length, 12);
    parts.push(rec, Buffer.from(p));
  });
  return Buffer.concat(parts);
}
