/**
 * Channel identification from a connection's first source-to-destination bytes, as QEMU's
 * destination decides with MSG_PEEK ("QEVM" opens main, 0x11223344 multifd, 0x16 0x03 TLS).
 * The postcopy-preempt channel has no header; it is recognised here by its first record being a
 * bare RAM page (what it always sends first), and by position in ChannelRegistry-like callers.
 */
import { QEMU_VM_FILE_MAGIC, RamFlag } from '../core/constants.js';
import { MULTIFD_MAGIC } from '../multifd/constants.js';
import type { ChannelIdentity } from './channel-role.js';

/** Bytes needed to decide in every case: 25 for a multifd id, fewer for the rest. */
export const IDENTIFY_BYTES = 25;

const MULTIFD_ID_OFFSET = 24;

export interface IdentifyContext {
  /** No more bytes will come: decide with what there is instead of asking for more. */
  ended?: boolean;
  /** Headerless bytes that look like RAM page records name the postcopy-preempt channel
   * (default true; a proxy that knows preempt is off passes false and gets `other`). */
  postcopyPreempt?: boolean;
}

/**
 * The channel `firstBytes` opens, or undefined while more bytes are needed to decide
 * (never undefined with `context.ended`).
 */
export function identifyChannel(firstBytes: Uint8Array, context: IdentifyContext = {}): ChannelIdentity | undefined {
  const head = firstBytes;
  const ended = context.ended ?? false;
  if (head.length === 0) return ended ? { role: 'empty' } : undefined;
  if (head[0] === 0x16 && (head.length < 2 || head[1] === 0x03)) {
    if (head.length >= 2) return { role: 'tls' };
    return ended ? { role: 'other' } : undefined;
  }
  if (head.length < 4) return ended ? { role: 'other' } : undefined;
  const magic = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  if (magic === QEMU_VM_FILE_MAGIC) return { role: 'main' };
  if (magic === MULTIFD_MAGIC) {
    if (head.length <= MULTIFD_ID_OFFSET) return ended ? { role: 'multifd' } : undefined;
    return { role: 'multifd', multifdId: head[MULTIFD_ID_OFFSET]! };
  }
  if (context.postcopyPreempt !== false) {
    const page = looksLikeRamPage(head);
    if (page === undefined) return ended ? { role: 'other' } : undefined;
    if (page) return { role: 'postcopy-preempt' };
  }
  return { role: 'other' };
}

/**
 * Does `head` open with a RAM page record (be64 address|flags, then for a first page of a block
 * an idstr)? undefined while too few bytes are there to tell.
 */
function looksLikeRamPage(head: Uint8Array): boolean | undefined {
  if (head.length < 10) return undefined;
  const flags = ((head[6]! << 8) | head[7]!) & 0xfff;
  const kind = flags & ~RamFlag.Continue;
  if (kind !== RamFlag.Page && kind !== RamFlag.Zero) return false;
  if (flags & RamFlag.Continue) return true;
  const len = head[8]!;
  if (len === 0) return false;
  const end = Math.min(9 + len, head.length);
  for (let i = 9; i < end; i++) if (head[i]! < 0x20 || head[i]! > 0x7e) return false;
  return true;
}
