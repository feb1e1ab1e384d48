/** TCP segment header. */
import type { IpPacket } from './ip.js';

export const TcpFlag = { Fin: 0x01, Syn: 0x02, Rst: 0x04, Psh: 0x08, Ack: 0x10 } as const;

export interface TcpSegment {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** Sequence number (unsigned 32-bit). */
  seq: number;
  /** Acknowledgement number (unsigned 32-bit; meaningful with the ACK flag). */
  ack: number;
  flags: number;
  /** Captured payload bytes. */
  payload: Uint8Array;
  /** Payload length on the wire (more than payload.length when snaplen cut the packet). */
  payloadLength: number;
}

export function parseTcp(ip: IpPacket): TcpSegment | undefined {
  const b = ip.payload;
  if (b.length < 20) return undefined;
  const headerLength = (b[12]! >> 4) * 4;
  if (headerLength < 20 || b.length < headerLength || ip.payloadLength < headerLength) return undefined;
  return {
    src: ip.src,
    dst: ip.dst,
    srcPort: (b[0]! << 8) | b[1]!,
    dstPort: (b[2]! << 8) | b[3]!,
    seq: ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0,
    ack: ((b[8]! << 24) | (b[9]! << 16) | (b[10]! << 8) | b[11]!) >>> 0,
    flags: b[13]!,
    payload: b.subarray(headerLength),
    payloadLength: ip.payloadLength - headerLength,
  };
}
