/** Link-layer framing: where the IP packet starts in a frame, per LINKTYPE. */

export const LinkType = {
  Null: 0,
  Ethernet: 1,
  RawOpenBsd: 12,
  Raw: 101,
  Loop: 108,
  LinuxSll: 113,
  Ipv4: 228,
  Ipv6: 229,
  LinuxSll2: 276,
} as const;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
/** 802.1Q, 802.1ad and the pre-standard QinQ tag. */
const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100]);

/** The IP packet inside a frame, or why there is none. */
export type LinkResult = { ip: Uint8Array } | { skip: 'unsupported-link-type' | 'not-ip' | 'short-frame' };

export function ipFromFrame(linkType: number, frame: Uint8Array): LinkResult {
  switch (linkType) {
    case LinkType.Ethernet:
      return ethernet(frame);
    case LinkType.LinuxSll:
      return byEthertype(frame, 14, 16);
    case LinkType.LinuxSll2:
      return byEthertype(frame, 0, 20);
    case LinkType.Raw:
    case LinkType.RawOpenBsd:
    case LinkType.Ipv4:
    case LinkType.Ipv6:
      return byVersion(frame, 0);
    case LinkType.Null:
    case LinkType.Loop:
      // A 4-byte address family (host order for NULL, big-endian for LOOP; its values vary by
      // OS), so the IP version nibble decides.
      return byVersion(frame, 4);
    default:
      return { skip: 'unsupported-link-type' };
  }
}

function ethernet(frame: Uint8Array): LinkResult {
  let p = 12;
  for (;;) {
    if (frame.length < p + 2) return { skip: 'short-frame' };
    const type = (frame[p]! << 8) | frame[p + 1]!;
    if (!VLAN_TAGS.has(type)) return ipByType(type, frame.subarray(p + 2));
    p += 4;
  }
}

function byEthertype(frame: Uint8Array, typeAt: number, headerLength: number): LinkResult {
  if (frame.length < headerLength) return { skip: 'short-frame' };
  return ipByType((frame[typeAt]! << 8) | frame[typeAt + 1]!, frame.subarray(headerLength));
}

function ipByType(type: number, rest: Uint8Array): LinkResult {
  return type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6 ? { ip: rest } : { skip: 'not-ip' };
}

function byVersion(frame: Uint8Array, at: number): LinkResult {
  if (frame.length <= at) return { skip: 'short-frame' };
  const version = frame[at]! >> 4;
  return version === 4 || version === 6 ? { ip: frame.subarray(at) } : { skip: 'not-ip' };
}
