/** IPv4 and IPv6 headers: addresses, the transport payload, and fragments (reported, not joined). */

export const IP_PROTO_TCP = 6;

export interface IpPacket {
  version: 4 | 6;
  src: string;
  dst: string;
  protocol: number;
  /** Captured transport bytes (trimmed of link-layer padding). */
  payload: Uint8Array;
  /** Transport length the IP header claims (more than payload.length when snaplen cut it). */
  payloadLength: number;
}

export type IpResult = { packet: IpPacket } | { skip: 'short-ip' | 'ip-fragment' | 'bad-ip' };

const IPV6_EXTENSIONS = new Set([0, 43, 60, 51, 135, 139, 140]);
const IPV6_FRAGMENT = 44;

export function parseIp(bytes: Uint8Array): IpResult {
  const version = bytes.length > 0 ? bytes[0]! >> 4 : 0;
  if (version === 4) return ipv4(bytes);
  if (version === 6) return ipv6(bytes);
  return { skip: 'bad-ip' };
}

function ipv4(b: Uint8Array): IpResult {
  if (b.length < 20) return { skip: 'short-ip' };
  const headerLength = (b[0]! & 0x0f) * 4;
  if (headerLength < 20 || b.length < headerLength) return { skip: 'short-ip' };
  let total = (b[2]! << 8) | b[3]!;
  // TSO-offloaded packets captured on the sending host may carry 0 here: trust the capture.
  if (total === 0) total = b.length;
  if (total < headerLength) return { skip: 'bad-ip' };
  const flagsFrag = (b[6]! << 8) | b[7]!;
  if (flagsFrag & 0x3fff) return { skip: 'ip-fragment' }; // MF set or non-zero offset
  return {
    packet: {
      version: 4,
      src: `${b[12]}.${b[13]}.${b[14]}.${b[15]}`,
      dst: `${b[16]}.${b[17]}.${b[18]}.${b[19]}`,
      protocol: b[9]!,
      payload: b.subarray(headerLength, Math.min(total, b.length)),
      payloadLength: total - headerLength,
    },
  };
}

function ipv6(b: Uint8Array): IpResult {
  if (b.length < 40) return { skip: 'short-ip' };
  let payloadLength = (b[4]! << 8) | b[5]!;
  if (payloadLength === 0) payloadLength = b.length - 40; // jumbogram or offload
  let next = b[6]!;
  let p = 40;
  while (IPV6_EXTENSIONS.has(next) || next === IPV6_FRAGMENT) {
    if (next === IPV6_FRAGMENT) return { skip: 'ip-fragment' };
    if (b.length < p + 8) return { skip: 'short-ip' };
    const length = next === 51 ? (b[p + 1]! + 2) * 4 : (b[p + 1]! + 1) * 8;
    next = b[p]!;
    p += length;
  }
  const end = 40 + payloadLength;
  if (end < p || b.length < p) return { skip: 'bad-ip' };
  return {
    packet: {
      version: 6,
      src: ipv6Text(b.subarray(8, 24)),
      dst: ipv6Text(b.subarray(24, 40)),
      protocol: next,
      payload: b.subarray(p, Math.min(end, b.length)),
      payloadLength: end - p,
    },
  };
}

/** RFC 5952 text: lower-case hex, longest run of two or more zero groups as "::". */
export function ipv6Text(a: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a[i]! << 8) | a[i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
