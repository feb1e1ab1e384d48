/**
 * Finding a record boundary in a main stream whose start was not seen (a packet capture that
 * began mid-migration). Only RAM records can be found this way: their 8-byte header holds a
 * page-aligned address with the flags in the bits below the page size, and their lengths follow
 * from the flags alone. One plausible header proves little (page payloads are arbitrary bytes), so
 * a point counts as a boundary only when MAIN_RESYNC_CHAIN records in a row parse there, each
 * starting where the one before ends: an EOS may be followed by the section's footer and the next
 * SECTION_PART/END, after which RAM records go on.
 */
import { isPrintableAscii } from '../core/bytes.js';
import { DEFAULT_TARGET_PAGE_SIZE, ENCODING_FLAG_XBZRLE, RamFlag, RecordType } from '../core/constants.js';

/** Records in a row that must parse before a point is taken as a boundary. */
export const MAIN_RESYNC_CHAIN = 4;
/** How far into a stream a scan looks by default before it gives up. */
export const MAIN_RESYNC_SCAN_BYTES = 4 << 20;
/**
 * Highest upper half of a RAM record's address: offsets within a RAM block stay below 2^48 (256 TiB),
 * so the header's first two bytes are zero, which text and most payload bytes are not.
 */
const MAX_ADDRESS_HI = 0xffff;

export interface MainResyncOptions {
  /** Target page size (the flags live below it). Default 4096 (x86). */
  targetPageSize?: number;
  /** Give up once this many bytes from the first one fed held no boundary. Default MAIN_RESYNC_SCAN_BYTES. */
  maxScanBytes?: number;
}

/** A chain check's answer: a boundary, none here, or more bytes needed to tell. */
type Verdict = 'yes' | 'no' | 'more';

const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/**
 * Do MAIN_RESYNC_CHAIN records in a row parse from `at` in `b`? 'more' when `b` ends before that
 * can be told. `pageSize` is the target page size.
 */
export function ramChainAt(b: Uint8Array, at: number, pageSize: number): Verdict {
  const mask = pageSize - 1;
  let p = at;
  let afterEos = false;
  let footerSeen = false;
  let sectionId = -1;
  for (let n = 0; n < MAIN_RESYNC_CHAIN; n++) {
    if (afterEos) {
      // After EOS: the footer (streams with footers), then the PART/END that reopens the RAM section.
      if (b.length < p + 5) return 'more';
      const type = b[p]!;
      const id = u32(b, p + 1);
      if (sectionId >= 0 && id !== sectionId) return 'no';
      sectionId = id;
      p += 5;
      if (type === RecordType.SectionFooter && !footerSeen) footerSeen = true;
      else if (type === RecordType.SectionPart || type === RecordType.SectionEnd) afterEos = false;
      else return 'no';
      continue;
    }
    if (b.length < p + 8) return 'more';
    const hi = u32(b, p);
    const lo = u32(b, p + 4);
    if (hi > MAX_ADDRESS_HI) return 'no';
    const flags = lo & mask;
    const kind = flags & ~RamFlag.Continue;
    if (kind === RamFlag.Eos || kind === RamFlag.MultifdFlush) {
      // Markers carry no address and never CONTINUE.
      if (hi !== 0 || lo !== kind) return 'no';
      p += 8;
      afterEos = kind === RamFlag.Eos;
      footerSeen = false;
      continue;
    }
    if (kind !== RamFlag.Page && kind !== RamFlag.Zero && kind !== RamFlag.Xbzrle) return 'no';
    let head = 8;
    if (!(flags & RamFlag.Continue)) {
      if (b.length < p + 9) return 'more';
      const len = b[p + 8]!;
      if (len === 0) return 'no';
      if (b.length < p + 9 + len) return 'more';
      if (!isPrintableAscii(b, p + 9, p + 9 + len)) return 'no';
      head = 9 + len;
    }
    if (kind === RamFlag.Page) p += head + pageSize;
    else if (kind === RamFlag.Zero) {
      if (b.length < p + head + 1) return 'more';
      if (b[p + head] !== 0) return 'no'; // QEMU's zero pages always carry fill byte 0
      p += head + 1;
    } else {
      if (b.length < p + head + 3) return 'more';
      const dlen = (b[p + head + 1]! << 8) | b[p + head + 2]!;
      if (b[p + head] !== ENCODING_FLAG_XBZRLE || dlen === 0 || dlen > pageSize) return 'no';
      p += head + 3 + dlen;
    }
  }
  return 'yes';
}

/**
 * Scans a main stream chunk by chunk for the first RAM record boundary (see ramChainAt). Keeps
 * only the bytes from the first point not yet decided (a chain's length: a few pages).
 */
export class MainResync {
  private readonly pageSize: number;
  private readonly maxScan: number;
  private buf: Uint8Array = new Uint8Array(0);
  /** Stream offset of buf[0]. */
  private base = 0;
  private first: number | undefined;
  /** Stream offset of the first RAM record found. */
  found: number | undefined;
  /** The scan reached maxScanBytes without a boundary. */
  gaveUp = false;

  constructor(options: MainResyncOptions = {}) {
    this.pageSize = options.targetPageSize ?? DEFAULT_TARGET_PAGE_SIZE;
    this.maxScan = options.maxScanBytes ?? MAIN_RESYNC_SCAN_BYTES;
  }

  /** The scan is over: a boundary found, or given up. */
  get done(): boolean {
    return this.found !== undefined || this.gaveUp;
  }

  /** Feed the bytes at stream `offset` (in order; a gap restarts the scan after it). */
  push(offset: number, bytes: Uint8Array): number | undefined {
    if (this.done) return this.found;
    this.first ??= offset;
    if (this.base + this.buf.length !== offset || this.buf.length === 0) {
      this.buf = bytes;
      this.base = offset;
    } else {
      const joined = new Uint8Array(this.buf.length + bytes.length);
      joined.set(this.buf);
      joined.set(bytes, this.buf.length);
      this.buf = joined;
    }
    const b = this.buf;
    const limit = this.first + this.maxScan - this.base;
    let i = 0;
    for (; i + 8 <= b.length; i++) {
      if (i >= limit) {
        this.gaveUp = true;
        this.buf = new Uint8Array(0);
        return undefined;
      }
      // Cheap filter before the chain check: a RAM header's address starts with two zero bytes.
      if (b[i] !== 0 || b[i + 1] !== 0) continue;
      const v = ramChainAt(b, i, this.pageSize);
      if (v === 'yes') {
        this.buf = new Uint8Array(0);
        return (this.found = this.base + i);
      }
      if (v === 'more') break;
    }
    // Keep the undecided tail (copied: the caller may reuse its chunk).
    this.buf = b.slice(i);
    this.base += i;
    return undefined;
  }
}
