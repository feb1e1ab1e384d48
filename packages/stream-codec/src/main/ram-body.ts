/** The body of a RAM section: page records, the MEM_SIZE block list, mapped-ram regions. */
import { ENCODING_FLAG_XBZRLE, RamFlag } from '../core/constants.js';
import { ErrorCode, hex } from '../core/errors.js';
import { bytesToLatin1, readU32, readU64Exact } from '../core/bytes.js';
import type { RecordSink } from './options.js';
import type { MappedRamHeader, RamBlockInfo, RamPageRecord, RamZeroRecord } from './records.js';
import { DETAIL_FIELDS, type PageRun, type PageRunBlock, type PageRunDetail } from './page-run.js';
import { FOOTER_OF_RESUMED_SECTION, RESUMED_BLOCK_UNKNOWN, RESUMED_SECTION_UNKNOWN } from './resume.js';
import { MainDecoderCore, State } from './state.js';

const NO_BYTES = new Uint8Array(0);

export function stepRam(s: MainDecoderCore, sink: RecordSink): boolean {
  const q = s.q;
  if (q.length < 8) return false;
  const offset = q.offset;
  const hi = q.u32(0);
  const lo = q.u32(4);
  const flags = lo & s.flagMask;
  if (hi > 0x1fffff) s.fail(ErrorCode.ValueOutOfRange, 'RAM record offset beyond 2^53', offset, '< 2^53', hex(hi, 8) + hex(lo, 8).slice(2));
  const addr = hi * 0x1_0000_0000 + (lo - flags);
  const kind = flags & ~RamFlag.Continue;
  const depth = s.frames.length;
  const sectionId = s.sectionId;

  switch (kind) {
    case RamFlag.Zero:
    case RamFlag.Page:
    case RamFlag.Xbzrle:
    case RamFlag.CompressPage: {
      let head = 8;
      let block: string;
      if (flags & RamFlag.Continue) {
        if (s.lastBlock !== undefined) block = s.lastBlock;
        else if (s.resumed) block = RESUMED_BLOCK_UNKNOWN; // named before the resume point
        else s.fail(ErrorCode.UnknownRamBlock, 'CONTINUE with no previous block', offset, 'a block named earlier in this section', 'none');
      } else {
        if (q.length < 9) return false;
        const len = q.byte(8);
        head = 9 + len;
        if (q.length < head) return false;
        block = bytesToLatin1(q.peek(9, len));
      }
      if (s.blocksKnown) {
        const info = s.blocks.get(block);
        if (!info) s.fail(ErrorCode.UnknownRamBlock, 'RAM record names a block MEM_SIZE did not list', offset + 8, `one of ${[...s.blocks.keys()].join(', ')}`, JSON.stringify(block));
        if (addr >= info.usedLength) s.fail(ErrorCode.RamOffsetBeyondBlock, `RAM offset beyond block ${block}`, offset, `< ${hex(info.usedLength)}`, hex(addr));
      }
      let need: number;
      if (kind === RamFlag.Zero) need = head + 1;
      else if (kind === RamFlag.Page) need = head + s.pageSize;
      else if (kind === RamFlag.Xbzrle) {
        if (q.length < head + 3) return false;
        const enc = q.byte(head);
        if (enc !== ENCODING_FLAG_XBZRLE) s.fail(ErrorCode.BadXbzrle, 'unknown XBZRLE encoding', offset + head, hex(ENCODING_FLAG_XBZRLE, 2), hex(enc, 2));
        const dlen = q.u16(head + 1);
        if (dlen > s.pageSize) s.fail(ErrorCode.BadXbzrle, 'XBZRLE delta longer than a page', offset + head + 1, `<= ${s.pageSize}`, String(dlen));
        need = head + 3 + dlen;
      } else {
        if (q.length < head + 4) return false;
        const clen = q.u32(head);
        const max = s.pageSize * 2 + 64;
        if (clen > max) s.fail(ErrorCode.LimitExceeded, 'compressed page longer than a page can compress to', offset + head, `<= ${max}`, String(clen));
        need = head + 4 + clen;
      }
      s.checkFrame(need);
      if (q.length < need) return false;
      s.lastBlock = block;
      if (kind === RamFlag.Page) {
        q.skip(head);
        let data: Uint8Array;
        if (s.options.skipPagePayloads) {
          q.skip(s.pageSize);
          data = NO_BYTES;
        } else data = q.take(s.pageSize);
        sink({ kind: 'ram-page', offset, length: need, depth, sectionId, flags, block, pageOffset: addr, data });
      } else if (kind === RamFlag.Zero) {
        const fill = q.byte(head);
        q.skip(need);
        sink({ kind: 'ram-zero', offset, length: need, depth, sectionId, flags, block, pageOffset: addr, fill });
      } else if (kind === RamFlag.Xbzrle) {
        const encoding = q.byte(head);
        q.skip(head + 3);
        const delta = q.take(need - head - 3);
        sink({ kind: 'ram-xbzrle', offset, length: need, depth, sectionId, flags, block, pageOffset: addr, encoding, delta });
      } else {
        q.skip(head + 4);
        const data = q.take(need - head - 4);
        sink({ kind: 'ram-compressed', offset, length: need, depth, sectionId, flags, block, pageOffset: addr, data });
      }
      return true;
    }

    case RamFlag.MemSize:
      s.checkFrame(8);
      q.skip(8);
      s.memSizeLeft = addr;
      s.memSizeCount = 0;
      s.blocks.clear();
      s.blocksKnown = true;
      s.lastBlock = undefined;
      sink({ kind: 'ram-mem-size', offset, length: 8, depth, sectionId, flags, totalBytes: addr });
      if (addr > 0) s.state = State.RamBlock;
      return true;

    case RamFlag.Eos:
    case RamFlag.MultifdFlush:
    case RamFlag.Hook:
      s.checkFrame(8);
      q.skip(8);
      sink({ kind: kind === RamFlag.Eos ? 'ram-eos' : kind === RamFlag.Hook ? 'ram-hook' : 'ram-multifd-flush', offset, length: 8, depth, sectionId, flags });
      if (kind === RamFlag.Eos && s.startState !== State.Ram) {
        s.state = State.Record;
        s.footerFor = sectionId === RESUMED_SECTION_UNKNOWN ? FOOTER_OF_RESUMED_SECTION : sectionId;
      }
      return true;

    default:
      s.fail(ErrorCode.UnknownRamFlags, 'unknown combination of RAM flags', offset + 4, 'one of ZERO, PAGE, XBZRLE, MEM_SIZE, EOS, MULTIFD_FLUSH, HOOK (+CONTINUE)', hex(flags, 3));
  }
}


/** One entry of the MEM_SIZE block list: u8 len, idstr, be64 used_length, then per-capability extras. */
export function stepRamBlock(s: MainDecoderCore, sink: RecordSink): boolean {
  const q = s.q;
  if (q.length < 1) return false;
  const offset = q.offset;
  const len = q.byte(0);
  if (q.length < 1 + len) return false;
  const name = bytesToLatin1(q.peek(1, len));
  let need = 1 + len + 8;
  const pageSizeExtra = s.caps.postcopyRam === true && (s.options.blockPageSize?.(name) ?? (s.options.hostPageSize ?? 4096)) !== (s.options.hostPageSize ?? 4096);
  if (pageSizeExtra) need += 8;
  if (s.caps.ignoreShared) need += 8;
  if (s.caps.mappedRam) need += 28;
  s.checkFrame(need);
  if (q.length < need) return false;
  if (++s.memSizeCount > s.limits.maxRamBlocks) s.fail(ErrorCode.LimitExceeded, 'more RAM blocks than maxRamBlocks', offset, `<= ${s.limits.maxRamBlocks}`, String(s.memSizeCount));
  let at = 1 + len;
  if (q.u32(at) > 0x1fffff) s.fail(ErrorCode.ValueOutOfRange, 'RAM block length beyond 2^53', offset + at, '< 2^53', 'larger');
  const usedLength = q.u32(at) * 0x1_0000_0000 + q.u32(at + 4);
  at += 8;
  const info: RamBlockInfo = { name, usedLength };
  if (pageSizeExtra) {
    info.pageSize = readU64Exact(q.peek(at, 8), 0);
    at += 8;
  }
  if (s.caps.ignoreShared) {
    info.address = readU64Exact(q.peek(at, 8), 0);
    at += 8;
  }
  let mapped: MappedRamHeader | undefined;
  if (s.caps.mappedRam) {
    const h = q.peek(at, 28);
    mapped = { version: readU32(h, 0), pageSize: readU64Exact(h, 4), bitmapOffset: readU64Exact(h, 12), pagesOffset: readU64Exact(h, 20) };
    info.mappedRam = mapped;
    at += 28;
  }
  q.skip(need);
  if (usedLength > s.memSizeLeft) s.fail(ErrorCode.RamMemSizeMismatch, 'RAM block lengths add up to more than MEM_SIZE', offset + 1 + len, `<= ${s.memSizeLeft} left`, String(usedLength));
  s.memSizeLeft -= usedLength;
  s.addBlock(info);
  sink({ kind: 'ram-block', offset, length: need, depth: s.frames.length, sectionId: s.sectionId, block: info });
  if (mapped) {
    // The file position jumps past the block's page region (the bitmap and pages live there).
    // Number() rounds offsets beyond 2^53, but any such offset already fails the region limit.
    const pagesAt = Number(mapped.pagesOffset);
    const bitmapAt = Number(mapped.bitmapOffset);
    const skip = pagesAt + usedLength - q.offset;
    if (mapped.version !== 1 || skip < 0 || skip > s.limits.maxMappedRamRegionBytes || bitmapAt < q.offset || pagesAt < bitmapAt) {
      s.fail(ErrorCode.BadMappedRam, `mapped-ram header of block ${name} is inconsistent`, offset + need - 28, `version 1, bitmap at >= ${q.offset}, pages after bitmap`, `version ${mapped.version}, bitmap ${mapped.bitmapOffset}, pages ${mapped.pagesOffset}`);
    }
    s.mappedLeft = skip;
    s.mappedBlock = name;
    s.state = skip > 0 ? State.MappedSkip : s.memSizeLeft > 0 ? State.RamBlock : State.Ram;
  } else if (s.memSizeLeft === 0) {
    s.state = State.Ram;
  }
  return true;
}


export function stepMappedSkip(s: MainDecoderCore, sink: RecordSink): boolean {
  const q = s.q;
  const n = Math.min(s.mappedLeft, q.length);
  if (n === 0) return false;
  for (const data of q.takeViews(n)) {
    sink({ kind: 'mapped-ram-data', offset: q.offset - n, length: data.length, depth: s.frames.length, block: s.mappedBlock, data });
  }
  s.mappedLeft -= n;
  if (s.mappedLeft === 0) s.state = s.memSizeLeft > 0 ? State.RamBlock : State.Ram;
  return true;
}


/** A page run the decoder took: its blocks named as its records would have named them. */
export interface PassedPageRun {
  /** The target page size of its pages. */
  pageSize: number;
  start: number;
  end: number;
  records: number;
  sectionId: number;
  blocks: Array<PageRunBlock & { block: string }>;
  /** The run's last record (payload left out, as with skipPagePayloads). */
  last: RamPageRecord | RamZeroRecord;
  /** Every record's numbers, when the run was scanned with them (forEachRunRecord). */
  detail?: PageRunDetail;
}

export interface PassPageRunOptions {
  /**
   * The caller takes the run's pages from its bytes itself (forEachRunPage): the run may be passed
   * even when this decoder hands out page payloads.
   */
  pagesElsewhere?: boolean;
}

/**
 * Take a scanned run as if its records had been decoded here, or leave everything as it was
 * (undefined) when that would not be the same: only between records of a top-level RAM section,
 * nothing queued, at the run's start, page payloads skipped (or taken from the run's bytes by the caller), the same page size, and every block
 * of the run known to hold its offsets. A CONTINUE with no block before it stays the decoder's to fail on.
 */
export function passPageRun(s: MainDecoderCore, run: PageRun, o: PassPageRunOptions = {}): PassedPageRun | undefined {
  if (s.state !== State.Ram || s.frames.length !== 0 || s.q.length !== 0 || s.q.offset !== run.start) return undefined;
  if (!(s.options.skipPagePayloads || o.pagesElsewhere) || run.pageSize !== s.pageSize || run.records === 0 || s.resumed) return undefined;
  let block = s.lastBlock;
  const blocks: PassedPageRun['blocks'] = [];
  for (const b of run.blocks) {
    const name = b.block ?? block;
    if (name === undefined) return undefined;
    if (s.blocksKnown) {
      const info = s.blocks.get(name);
      if (!info || b.maxOffset >= info.usedLength) return undefined;
    }
    blocks.push({ ...b, block: name });
    block = name;
  }
  s.q.advanceAbsent(run.end - run.start);
  s.lastBlock = block;
  const l = run.last;
  const base = { offset: l.offset, length: l.length, depth: 0, sectionId: s.sectionId, flags: l.flags, block: block!, pageOffset: l.pageOffset };
  const last: RamPageRecord | RamZeroRecord = l.zero ? { kind: 'ram-zero', ...base, fill: l.fill } : { kind: 'ram-page', ...base, data: NO_BYTES };
  return { pageSize: run.pageSize, start: run.start, end: run.end, records: run.records, sectionId: s.sectionId, blocks, last, ...(run.detail ? { detail: run.detail } : {}) };
}

/**
 * The records of a run taken with its detail, as the decoder would have given them (page
 * payloads left out, as with skipPagePayloads), in stream order. False when the run has no detail.
 */
export function forEachRunRecord(run: PassedPageRun, onRecord: (r: RamPageRecord | RamZeroRecord) => void): boolean {
  const sectionId = run.sectionId;
  return forEachRunEntry(run, (zero, offset, length, flags, block, pageOffset, fill) => {
    if (zero) onRecord({ kind: 'ram-zero', offset, length, depth: 0, sectionId, flags, block, pageOffset, fill });
    else onRecord({ kind: 'ram-page', offset, length, depth: 0, sectionId, flags, block, pageOffset, data: NO_BYTES });
  });
}

/**
 * forEachRunRecord without a record object per page: each record's fields as arguments (its
 * depth is 0 and its section the run's), for a listing that writes them straight out (dump --json).
 */
export function forEachRunEntry(run: PassedPageRun, onEntry: (zero: boolean, offset: number, length: number, flags: number, block: string, pageOffset: number, fill: number) => void): boolean {
  const d = run.detail;
  if (!d) return false;
  const f = d.fields;
  // CONTINUE records before the first that names a block carry the block the decoder had.
  let block = run.blocks[0]!.block;
  let next = 0;
  for (let i = 0, k = 0; i < run.records; i++, k += DETAIL_FIELDS) {
    if (next < d.named.length && d.named[next]![0] === i) block = d.named[next++]![1];
    const flags = f[k + 2]!;
    onEntry((flags & ~RamFlag.Continue) === RamFlag.Zero, f[k]!, f[k + 1]!, flags, block, f[k + 3]!, f[k + 4]!);
  }
  return true;
}
