/**
 * Page runs: consecutive PAGE and ZERO records of a main stream's RAM section, scanned apart from
 * the decoder (a worker thread reading further on in the same file) and handed to
 * `MainStreamDecoder.passPageRun` whole. A listing that leaves page bytes out then need not read
 * and decode those records one by one on its own thread.
 *
 * The scanner reads each header as the decoder's RAM step does and stops at the first record that
 * is not a PAGE or ZERO record it can take (that record is the decoder's to decode, or to fail
 * on). What only the decoder knows, where it stands and the block list, it checks when a run is
 * handed to it. This module loads nothing but the wire constants, so a worker starts fast.
 */
import { DEFAULT_TARGET_PAGE_SIZE, RamFlag } from '../core/constants.js';
import { bytesToLatin1 } from '../core/bytes.js';
import { ramChainAt } from '../identify/main-resync.js';

/** The records of one RAM block within a run. */
export interface PageRunBlock {
  /** The block a record of the run named; undefined: carried over (CONTINUE) from before the run. */
  block: string | undefined;
  pages: number;
  zeros: number;
  /** Bytes of the PAGE records (headers included), and of the ZERO records. */
  pageBytes: number;
  zeroBytes: number;
  /** Lowest and highest page offset within the block. */
  minOffset: number;
  maxOffset: number;
}

/** The run's last record, as the decoder would have given it. */
export interface PageRunLast {
  offset: number;
  length: number;
  flags: number;
  pageOffset: number;
  /** A ZERO record (with its fill byte), else a PAGE record. */
  zero: boolean;
  fill: number;
}

/**
 * Each record of a run (a scanner asked for `detail`), for a listing that shows every page record
 * without reading the run again (dump --json): DETAIL_FIELDS numbers per record (stream offset,
 * length, flags, page offset, fill byte or 0), and the records that name their block.
 */
export interface PageRunDetail {
  fields: Float64Array;
  /** [record index, block name] of each record that names its block (the others CONTINUE). */
  named: Array<[number, string]>;
}

/** Numbers per record in PageRunDetail.fields. */
export const DETAIL_FIELDS = 5;

/** Consecutive PAGE/ZERO records from stream offset `start` to `end` (exclusive). */
export interface PageRun {
  /** The target page size the run was scanned with. */
  pageSize: number;
  start: number;
  end: number;
  records: number;
  /** In stream order; a block named again later gets another entry. */
  blocks: PageRunBlock[];
  last: PageRunLast;
  /** Every record, when the scanner was asked for it. */
  detail?: PageRunDetail;
}

/** Why a scan stopped: the buffer ends inside a record ('more'), or the next record is not one a run takes ('other'). */
export type ScanStop = 'more' | 'other';

/** Highest upper half of a page offset the decoder accepts (offsets stay below 2^53). */
const MAX_OFFSET_HI = 0x1fffff;

const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/**
 * Collects page runs from bytes fed in stream order. `scan` takes whole records from a buffer;
 * `take` closes the run so far (a run can end at any record boundary).
 */
export class PageRunScanner {
  private readonly mask: number;
  private run: PageRun | undefined;
  private block: PageRunBlock | undefined;
  /** The block the latest record named or carried, for CONTINUE records after a cut. */
  private current: string | undefined;
  /** Bytes in the run so far. */
  get runBytes(): number {
    return this.run ? this.run.end - this.run.start : 0;
  }

  /** With `detail`: the records of the run so far, and the named ones. */
  private fields: Float64Array | undefined;
  private named: Array<[number, string]> = [];

  /** `detail`: keep every record's numbers in the runs taken (PageRun.detail). */
  constructor(
    private readonly pageSize = DEFAULT_TARGET_PAGE_SIZE,
    o: { detail?: boolean } = {},
  ) {
    this.mask = pageSize - 1;
    if (o.detail) this.fields = new Float64Array(DETAIL_FIELDS * 1024);
  }

  /**
   * Take whole PAGE/ZERO records from b[at..end), the byte b[at] being at stream offset `base + at`
   * and a record boundary. Returns where it stopped and why.
   */
  scan(b: Uint8Array, at: number, end: number, base: number): { at: number; stop: ScanStop } {
    const pageSize = this.pageSize;
    for (;;) {
      if (end - at < 8) return { at, stop: 'more' };
      const hi = u32(b, at);
      const lo = u32(b, at + 4);
      const flags = lo & this.mask;
      const kind = flags & ~RamFlag.Continue;
      if (hi > MAX_OFFSET_HI || (kind !== RamFlag.Page && kind !== RamFlag.Zero)) return { at, stop: 'other' };
      let head = 8;
      let named: string | undefined;
      if (!(flags & RamFlag.Continue)) {
        if (end - at < 9) return { at, stop: 'more' };
        const len = b[at + 8]!;
        head = 9 + len;
        if (end - at < head) return { at, stop: 'more' };
        named = bytesToLatin1(b.subarray(at + 9, at + head));
      }
      const zero = kind === RamFlag.Zero;
      const length = zero ? head + 1 : head + pageSize;
      if (end - at < length) return { at, stop: 'more' };
      const offset = base + at;
      const pageOffset = hi * 0x1_0000_0000 + (lo - flags);
      const run = (this.run ??= { pageSize, start: offset, end: offset, records: 0, blocks: [], last: { offset, length, flags, pageOffset, zero, fill: 0 } });
      let blk = this.block;
      if (blk === undefined || (named !== undefined && blk.block !== named)) {
        blk = { block: named ?? this.current, pages: 0, zeros: 0, pageBytes: 0, zeroBytes: 0, minOffset: pageOffset, maxOffset: pageOffset };
        run.blocks.push(blk);
        this.block = blk;
      }
      if (named !== undefined) this.current = named;
      if (zero) {
        blk.zeros++;
        blk.zeroBytes += length;
      } else {
        blk.pages++;
        blk.pageBytes += length;
      }
      if (pageOffset < blk.minOffset) blk.minOffset = pageOffset;
      if (pageOffset > blk.maxOffset) blk.maxOffset = pageOffset;
      if (this.fields) this.keep(run.records, offset, length, flags, pageOffset, zero ? b[at + head]! : 0, named);
      run.records++;
      run.end = offset + length;
      const last = run.last;
      last.offset = offset;
      last.length = length;
      last.flags = flags;
      last.pageOffset = pageOffset;
      last.zero = zero;
      last.fill = zero ? b[at + head]! : 0;
      at += length;
    }
  }

  private keep(i: number, offset: number, length: number, flags: number, pageOffset: number, fill: number, named: string | undefined): void {
    let f = this.fields!;
    if ((i + 1) * DETAIL_FIELDS > f.length) {
      const more = new Float64Array(f.length * 2);
      more.set(f);
      this.fields = f = more;
    }
    const k = i * DETAIL_FIELDS;
    f[k] = offset;
    f[k + 1] = length;
    f[k + 2] = flags;
    f[k + 3] = pageOffset;
    f[k + 4] = fill;
    if (named !== undefined) this.named.push([i, named]);
  }

  /** Close the run so far (undefined when it holds no record); the next record starts another. */
  take(): PageRun | undefined {
    const run = this.run;
    this.run = undefined;
    this.block = undefined;
    if (run && this.fields) run.detail = { fields: this.fields.slice(0, run.records * DETAIL_FIELDS), named: this.named };
    this.named = [];
    return run;
  }

  /** Other records came between: a CONTINUE record after them carries the decoder's block, not ours. */
  forget(): void {
    this.take();
    this.current = undefined;
  }
}

/**
 * Length of the PAGE or ZERO record whose header starts at b[at] (flags below `pageSize`), or
 * undefined when it is another record or its header (with a block name) is not all in b[at..end).
 */
export function pageRecordLength(b: Uint8Array, at: number, end: number, pageSize = DEFAULT_TARGET_PAGE_SIZE): number | undefined {
  if (end - at < 8 || u32(b, at) > MAX_OFFSET_HI) return undefined;
  const flags = u32(b, at + 4) & (pageSize - 1);
  const kind = flags & ~RamFlag.Continue;
  if (kind !== RamFlag.Page && kind !== RamFlag.Zero) return undefined;
  let head = 8;
  if (!(flags & RamFlag.Continue)) {
    if (end - at < 9) return undefined;
    head = 9 + b[at + 8]!;
  }
  return kind === RamFlag.Zero ? head + 1 : head + pageSize;
}

/**
 * Each page of a run's bytes (`bytes` from the run's start to its end, as scanned), in stream
 * order: its block (`block` for CONTINUE records before the first that names one: the block the
 * decoder had when it took the run), page offset, and the page's bytes (a view of `bytes`) or,
 * for a ZERO record, undefined and its fill byte. For a reader that takes pages from the run
 * itself (extract) instead of from decoded records.
 */
export function forEachRunPage(bytes: Uint8Array, pageSize: number, block: string, onPage: (block: string, pageOffset: number, data: Uint8Array | undefined, fill: number) => void): void {
  const mask = pageSize - 1;
  for (let at = 0; at < bytes.length; ) {
    const length = pageRecordLength(bytes, at, bytes.length, pageSize);
    // The scanner took these bytes as whole records: anything else is a caller's mistake.
    if (length === undefined || at + length > bytes.length) throw new RangeError(`forEachRunPage: no whole PAGE or ZERO record at byte ${at} of the run`);
    const lo = u32(bytes, at + 4);
    const flags = lo & mask;
    if (!(flags & RamFlag.Continue)) block = bytesToLatin1(bytes.subarray(at + 9, at + 9 + bytes[at + 8]!));
    const pageOffset = u32(bytes, at) * 0x1_0000_0000 + (lo - flags);
    const end = at + length;
    if ((flags & ~RamFlag.Continue) === RamFlag.Zero) onPage(block, pageOffset, undefined, bytes[end - 1]!);
    else onPage(block, pageOffset, bytes.subarray(end - pageSize, end), 0);
    at = end;
  }
}

/**
 * The first index in b[from..end) where a run of RAM records starts (records in a row parse there,
 * see ramChainAt), with `sure` false when the bytes end before that can be told for that index
 * (read more and ask again from it). `end` when no index is left to try.
 */
export function findPageRunStart(b: Uint8Array, from: number, end: number, pageSize = DEFAULT_TARGET_PAGE_SIZE): { at: number; sure: boolean } {
  const view = end === b.length ? b : b.subarray(0, end);
  for (let i = from; i + 8 <= end; i++) {
    // A RAM header's address starts with two zero bytes: most positions fail here.
    if (view[i] !== 0 || view[i + 1] !== 0) continue;
    const v = ramChainAt(view, i, pageSize);
    if (v === 'yes') return { at: i, sure: true };
    if (v === 'more') return { at: i, sure: false };
  }
  return { at: Math.max(from, end - 7), sure: false };
}
