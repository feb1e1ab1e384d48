/**
 * The smallest libpcap files tests need: raw IPv4 TCP packets between two loopback ports, each
 * with its capture time (seconds after PCAP_EPOCH, microsecond resolution).
 */
import { LinkType } from '@migwire/pcap';

/** Seconds added to every capture time (a plausible Unix time). */
export const PCAP_EPOCH = 1_700_000_000;

export interface RawPacket {
  /** Seconds after PCAP_EPOCH. */
  t: number;
  ip: Uint8Array;
}

/** An IPv4 + TCP packet (no options) from 127.0.0.1:`sport` to 127.0.0.1:`dport`. */
export function ipPacket(sport: number, dport: number, seq: number, flags: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const p = new Uint8Array(40 + payload.length);
  const v = new DataView(p.buffer);
  v.setUint8(0, 0x45);
  v.setUint16(2, p.length);
  v.setUint16(6, 0x4000);
  v.setUint8(8, 64);
  v.setUint8(9, 6);
  p.set([127, 0, 0, 1], 12);
  p.set([127, 0, 0, 1], 16);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint32(24, seq >>> 0);
  v.setUint32(28, 1);
  v.setUint8(32, 0x50);
  v.setUint8(33, flags);
  v.setUint16(34, 65535);
  p.set(payload, 40);
  return p;
}

export function writeRawPcap(packets: readonly RawPacket[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(LinkType.Raw, 20);
  const parts: Buffer[] = [head];
  for (const p of packets) {
    const rec = Buffer.alloc(16);
    const us = Math.round(p.t * 1e6);
    rec.writeUInt32LE(PCAP_EPOCH + Math.floor(us / 1e6), 0);
    rec.writeUInt32LE(us % 1e6, 4);
    rec.writeUInt32LE(p.ip.length, 8);
    rec.writeUInt32LE(p.ip.length, 12);
    parts.push(rec, Buffer.from(p.ip));
  }
  return Buffer.concat(parts);
}
