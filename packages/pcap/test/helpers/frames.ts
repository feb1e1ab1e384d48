/** Builds TCP/IP packets and link-layer frames for crafted captures (checksums left zero). */

export interface TcpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags?: number;
  payload?: Uint8Array;
  /** Extra IPv4 option bytes (multiple of 4) or, for IPv6, add a hop-by-hop header. */
  ipOptions?: boolean;
}

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;
export const PSH = 0x08;

export function tcpHeader(spec: TcpSpec): Uint8Array {
  const h = new Uint8Array(20);
  const v = new DataView(h.buffer);
  v.setUint16(0, spec.sport);
  v.setUint16(2, spec.dport);
  v.setUint32(4, spec.seq >>> 0);
  v.setUint32(8, (spec.ack ?? 0) >>> 0);
  h[12] = 5 << 4;
  h[13] = spec.flags ?? ACK;
  v.setUint16(14, 65535);
  return h;
}

export function ipPacket(spec: TcpSpec): Uint8Array {
  const tcp = concat([tcpHeader(spec), spec.payload ?? new Uint8Array(0)]);
  return spec.src.includes(':') ? ipv6(spec, tcp) : ipv4(spec, tcp);
}

function ipv4(spec: TcpSpec, tcp: Uint8Array): Uint8Array {
  const optLen = spec.ipOptions ? 8 : 0;
  const h = new Uint8Array(20 + optLen);
  const v = new DataView(h.buffer);
  h[0] = 0x40 | ((20 + optLen) / 4);
  v.setUint16(2, h.length + tcp.length);
  v.setUint16(6, 0x4000); // DF
  h[8] = 64;
  h[9] = 6;
  h.set(spec.src.split('.').map(Number), 12);
  h.set(spec.dst.split('.').map(Number), 16);
  if (optLen) h.set([1, 1, 1, 0, 0, 0, 0, 0], 20); // NOPs then end of options
  return concat([h, tcp]);
}

function ipv6(spec: TcpSpec, tcp: Uint8Array): Uint8Array {
  const ext = spec.ipOptions ? Uint8Array.from([6, 0, 1, 4, 0, 0, 0, 0]) : new Uint8Array(0); // hop-by-hop, PadN
  const h = new Uint8Array(40);
  const v = new DataView(h.buffer);
  h[0] = 0x60;
  v.setUint16(4, ext.length + tcp.length);
  h[6] = spec.ipOptions ? 0 : 6;
  h[7] = 64;
  h.set(v6bytes(spec.src), 8);
  h.set(v6bytes(spec.dst), 24);
  return concat([h, ext, tcp]);
}

function v6bytes(text: string): number[] {
  const [head, tail] = text.split('::') as [string, string | undefined];
  const a = head ? head.split(':') : [];
  const b = tail ? tail.split(':') : [];
  const groups = [...a, ...Array(8 - a.length - b.length).fill('0'), ...b].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

export function ethernet(ip: Uint8Array, vlanTags: number[] = []): Uint8Array {
  const mac = new Uint8Array(12).fill(0xaa);
  const tags = vlanTags.map((tpid, i) => Uint8Array.from([tpid >> 8, tpid & 0xff, 0, 10 + i]));
  const type = ip[0]! >> 4 === 6 ? [0x86, 0xdd] : [0x08, 0x00];
  return concat([mac, ...tags, Uint8Array.from(type), ip]);
}

export function sll(ip: Uint8Array): Uint8Array {
  const h = new Uint8Array(16);
  h.set(ip[0]! >> 4 === 6 ? [0x86, 0xdd] : [0x08, 0x00], 14);
  return concat([h, ip]);
}

export function sll2(ip: Uint8Array): Uint8Array {
  const h = new Uint8Array(20);
  h.set(ip[0]! >> 4 === 6 ? [0x86, 0xdd] : [0x08, 0x00], 0);
  return concat([h, ip]);
}

/** BSD NULL (host-order family) or LOOP (big-endian family). */
export function loopback(ip: Uint8Array, bigEndian: boolean): Uint8Array {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, ip[0]! >> 4 === 6 ? 30 : 2, !bigEndian);
  return concat([h, ip]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const joined = Buffer.concat(parts);
  return new Uint8Array(joined.buffer, joined.byteOffset, joined.length);
}

/** Deterministic pseudo-random bytes. */
export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
