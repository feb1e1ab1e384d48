/**
 * What a connection is, from its first bytes, as QEMU's destination decides
 * with MSG_PEEK: "QEVM" opens the main channel, 0x11223344 a multifd channel
 * (its id is byte 24 of the 64-byte init message), 0x16 0x03 a TLS handshake.
 */
export type FirstBytesKind = 'main' | 'multifd' | 'tls' | 'other';

export interface FirstBytes {
  kind: FirstBytesKind;
  multifdId?: number;
}

/** Bytes needed to tell: 25 for a multifd id, fewer for the rest. */
export const IDENTIFY_BYTES = 25;

/** undefined while more bytes are needed to decide. */
export function identifyFirstBytes(head: Uint8Array, ended = false): FirstBytes | undefined {
  if (head.length >= 2 && head[0] === 0x16 && head[1] === 0x03) return { kind: 'tls' };
  if (head.length < 4) return ended ? { kind: 'other' } : undefined;
  const magic = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  if (magic === 0x5145564d) return { kind: 'main' };
  if (magic === 0x11223344) {
    if (head.length < IDENTIFY_BYTES) return ended ? { kind: 'multifd' } : undefined;
    return { kind: 'multifd', multifdId: head[24]! };
  }
  return { kind: 'other' };
}
