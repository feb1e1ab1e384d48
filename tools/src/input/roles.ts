/** Channel roles, recognised from a connection's first bytes as QEMU's destination does. */
export type ChannelRole = 'main' | 'return-path' | 'multifd' | 'postcopy-preempt' | 'tls' | 'empty' | 'unknown';

export interface RoleGuess {
  role: ChannelRole;
  /** Multifd channel id from the init message. */
  multifdId?: number;
}

const MULTIFD_MAGIC = [0x11, 0x22, 0x33, 0x44];
const QEVM = [0x51, 0x45, 0x56, 0x4d];

function startsWith(head: Uint8Array, sig: number[]): boolean {
  return sig.every((b, i) => head[i] === b);
}

/** Does `head` start with a bare RAM page record (what a postcopy-preempt channel sends first)? */
function looksLikeRamPage(head: Uint8Array): boolean {
  if (head.length < 10) return false;
  const flags = ((head[6]! << 8) | head[7]!) & 0xfff;
  if ((flags & ~0x20) !== 0x08 && (flags & ~0x20) !== 0x02) return false;
  if (flags & 0x20) return true;
  const len = head[8]!;
  if (len === 0 || head.length < 9 + Math.min(len, 8)) return false;
  for (let i = 9; i < Math.min(9 + len, head.length); i++) if (head[i]! < 0x20 || head[i]! > 0x7e) return false;
  return true;
}

/** Role of a source-to-destination byte stream from its first bytes. */
export function guessSourceRole(head: Uint8Array): RoleGuess {
  if (head.length === 0) return { role: 'empty' };
  if (startsWith(head, QEVM)) return { role: 'main' };
  if (startsWith(head, MULTIFD_MAGIC)) return head.length > 24 ? { role: 'multifd', multifdId: head[24]! } : { role: 'multifd' };
  if (head[0] === 0x16 && head[1] === 0x03) return { role: 'tls' };
  if (looksLikeRamPage(head)) return { role: 'postcopy-preempt' };
  return { role: 'unknown' };
}
