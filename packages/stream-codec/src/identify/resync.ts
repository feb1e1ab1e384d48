/**
 * Finding a record boundary in a stream whose start was not seen (a packet capture that began
 * mid-connection). Multifd packets open with a magic and a header whose fields are tightly
 * bounded, so the first plausible header is a boundary. A main stream has no such marker: its
 * records are told apart only by the section table its start declares, so it cannot be resumed.
 */
import { MULTIFD_INIT_SIZE, MULTIFD_FLAG_COMPRESSION_MASK, MULTIFD_FLAG_DEVICE_STATE, MULTIFD_FLAG_SYNC, MULTIFD_MAGIC, MULTIFD_PACKET_SIZE, MULTIFD_RAM_HEADER_SIZE, MULTIFD_VERSION } from '../multifd/constants.js';

/** Bytes of a candidate header needed to judge it. */
export const MULTIFD_RESYNC_WINDOW = MULTIFD_RAM_HEADER_SIZE;
/** Smallest target page (4 KiB) bounds the page counts. */
const MAX_PAGES = MULTIFD_PACKET_SIZE / 4096;
const KNOWN_FLAGS = MULTIFD_FLAG_SYNC | MULTIFD_FLAG_COMPRESSION_MASK | MULTIFD_FLAG_DEVICE_STATE;
const RAMBLOCK_AT = 64;

const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/** Does a multifd RAM (or device-state) packet header start at `at`? Needs MULTIFD_RESYNC_WINDOW bytes there. */
export function isPlausibleMultifdPacket(b: Uint8Array, at: number): boolean {
  if (b.length - at < MULTIFD_RESYNC_WINDOW) return false;
  if (u32(b, at) !== MULTIFD_MAGIC || u32(b, at + 4) !== MULTIFD_VERSION) return false;
  const flags = u32(b, at + 8);
  if (flags & ~KNOWN_FLAGS) return false;
  if (flags & MULTIFD_FLAG_DEVICE_STATE) return printableName(b, at + 12);
  const pagesAlloc = u32(b, at + 12);
  const normal = u32(b, at + 16);
  const zero = u32(b, at + 32); // zero pages (10.0 layout) or 0 (7.2)
  if (pagesAlloc > MAX_PAGES || normal > MAX_PAGES || zero > MAX_PAGES) return false;
  if (normal + zero > 0 && !printableName(b, at + RAMBLOCK_AT)) return false;
  const next = u32(b, at + 20);
  if ((flags & MULTIFD_FLAG_COMPRESSION_MASK) === 0 && normal > 0 && next % 4096 !== 0) return false;
  return next <= 2 * MULTIFD_PACKET_SIZE;
}

/** A NUL-terminated name of printable ASCII (1..255 characters) at `at`. */
function printableName(b: Uint8Array, at: number): boolean {
  let i = at;
  for (; i < Math.min(b.length, at + 256) && b[i] !== 0; i++) if (b[i]! < 0x20 || b[i]! > 0x7e) return false;
  return i > at && i < at + 256;
}

/**
 * Scans a stream chunk by chunk for the first plausible multifd packet header; keeps only the
 * last window of bytes between chunks.
 */
export class MultifdResync {
  private tail: Uint8Array = new Uint8Array(0);
  private tailOffset = 0;
  /** Stream offset of the first header found. */
  found: number | undefined;

  /** Feed the bytes at stream `offset` (in order; a gap restarts the scan after it). */
  push(offset: number, bytes: Uint8Array): number | undefined {
    if (this.found !== undefined) return this.found;
    if (this.tailOffset + this.tail.length !== offset) this.tail = new Uint8Array(0);
    const buf = this.tail.length ? concat(this.tail, bytes) : bytes;
    const base = offset - (buf.length - bytes.length);
    const last = buf.length - MULTIFD_RESYNC_WINDOW;
    // An init message (whose uuid may pass for a header) is followed by a packet: that is the boundary.
    if (base === 0 && u32(buf, 0) === MULTIFD_MAGIC && isPlausibleMultifdPacket(buf, MULTIFD_INIT_SIZE)) return (this.found = MULTIFD_INIT_SIZE);
    if (base === 0 && buf.length < MULTIFD_INIT_SIZE + MULTIFD_RESYNC_WINDOW) {
      this.tail = buf.slice();
      this.tailOffset = 0;
      return undefined;
    }
    for (let i = buf.indexOf(0x11); i >= 0 && i <= last; i = buf.indexOf(0x11, i + 1)) {
      if (isPlausibleMultifdPacket(buf, i)) return (this.found = base + i);
    }
    const keep = Math.min(buf.length, MULTIFD_RESYNC_WINDOW - 1);
    this.tail = buf.slice(buf.length - keep);
    this.tailOffset = base + buf.length - keep;
    return undefined;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
