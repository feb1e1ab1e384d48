/**
 * Device sections: their data has no length, so the section ends at its footer (0x7e + section id)
 * where a plausible record follows; the data is then described (VFIO items, VMState fields).
 */
import { RecordType } from '../core/constants.js';
import { ErrorCode } from '../core/errors.js';
import { isPrintableAscii } from '../core/bytes.js';
import type { RecordSink } from './options.js';
import type { MainRecord } from './records.js';
import { MainDecoderCore, State } from './state.js';
import { decodeVmstate, tryDecodeVmstate } from '../vmstate/vmdesc.js';
import type { VmdescDevice } from '../vmstate/description.js';
import { decodeVfioItems, isVfioIdstr } from '../vfio/vfio.js';
import { DIRTY_BITMAP_IDSTR, decodeDirtyBitmapChunks } from '../block/dirty-bitmap.js';
import { BLOCK_MIGRATION_IDSTR, decodeBlockMigrationChunks } from '../block/block-migration.js';
import { PayloadProblem } from '../core/problem.js';

/**
 * A device section's data has no length: it ends at the footer (0x7e + its
 * section id) that is followed by something that can start a record.
 */
export function stepDevice(s: MainDecoderCore, sink: RecordSink): boolean {
  const q = s.q;
  const id = s.sectionId;
  const frameLeft = s.frameLeft();
  const limit = Math.min(frameLeft, s.limits.maxDeviceSectionBytes);
  let pos = s.deviceScanFrom;
  for (;;) {
    const i = q.indexOf(RecordType.SectionFooter, pos);
    if (i < 0 || i > limit) {
      const beyondReach = q.length >= frameLeft || q.length > limit || (i > limit && i >= 0);
      if (beyondReach || s.ended) shorterThanDescribed(s);
      if (beyondReach) {
        if (frameLeft <= s.limits.maxDeviceSectionBytes) s.fail(ErrorCode.UnframedSection, `no footer for section ${id} (${s.sectionIdstr}) before its PACKAGED stream ends`, q.offset, `0x7e + ${id}`, 'none');
        s.fail(ErrorCode.LimitExceeded, `section ${id} (${s.sectionIdstr}) longer than maxDeviceSectionBytes without a footer`, q.offset, `<= ${s.limits.maxDeviceSectionBytes} bytes`, 'more');
      }
      s.deviceScanFrom = Math.max(pos, q.length);
      if (s.ended) s.fail(ErrorCode.Truncated, `stream ends inside section ${id} (${s.sectionIdstr})`, q.offset, `0x7e + ${id}`, 'end of stream');
      return false;
    }
    if (i + 5 > q.length) {
      s.deviceScanFrom = i;
      if (s.ended) {
        shorterThanDescribed(s);
        s.fail(ErrorCode.Truncated, `stream ends inside section ${id} (${s.sectionIdstr})`, q.offset, `0x7e + ${id}`, 'end of stream');
      }
      return false;
    }
    if (q.u32(i + 1) !== id) {
      pos = i + 1;
      continue;
    }
    const v = plausibleRecordAt(s, i + 5, frameLeft);
    if (v === 'need') {
      s.deviceScanFrom = i;
      return false;
    }
    if (v === 'no') {
      pos = i + 1;
      continue;
    }
    // Device data can hold 0x7e + the section id followed by a byte that may start a record (a
    // timer's 64-bit values do): where the stream's own description lists more bytes than lie
    // before this candidate, it is not the footer.
    const desc = deviceDescription(s, s.sectionIdstr);
    const fit = desc ? tryDecodeVmstate(q.peek(0, i), desc) : undefined;
    if (fit === 'short') {
      s.deviceShortFooter ??= q.offset + i;
      pos = i + 1;
      continue;
    }
    const offset = q.offset;
    const data = q.take(i);
    const rec: MainRecord = { kind: 'device-state', offset, length: i, depth: s.frames.length, sectionId: id, idstr: s.sectionIdstr, data };
    if (fit !== undefined && fit !== 'mismatch') rec.vmstate = fit;
    else describeDevice(s, rec, offset);
    s.state = State.Record;
    s.footerFor = id;
    sink(rec);
    return true;
  }
}


/**
 * The scan for a section's footer found none past what its description lists, but passed one
 * before it: the state is shorter than described (a destination would run past it), which says
 * more than "no footer" or "stream ends inside the section".
 */
function shorterThanDescribed(s: MainDecoderCore): void {
  const at = s.deviceShortFooter;
  if (at === undefined) return;
  s.fail(ErrorCode.BadVmstate, `section ${s.sectionId} (${s.sectionIdstr}) ends at its footer before the fields its VMDESCRIPTION lists: its state is shorter than described`, at, 'the described fields, then 0x7e + ' + s.sectionId, 'the footer');
}

export function describeDevice(s: MainDecoderCore, rec: Extract<MainRecord, { kind: 'device-state' }>, _offset: number): void {
  // The block sections have chunk formats of their own; bytes that do not parse stay exact and
  // undescribed (`check`'s devices-described names what is wrong with them).
  if (rec.idstr === DIRTY_BITMAP_IDSTR || rec.idstr === BLOCK_MIGRATION_IDSTR) {
    try {
      if (rec.idstr === DIRTY_BITMAP_IDSTR) rec.dirtyBitmap = decodeDirtyBitmapChunks(rec.data);
      else rec.blockMigration = decodeBlockMigrationChunks(rec.data);
    } catch (e) {
      if (!(e instanceof PayloadProblem)) throw e;
    }
    return;
  }
  if (isVfioIdstr(rec.idstr)) {
    try {
      rec.vfio = decodeVfioItems(rec.data);
    } catch {
      /* left undecoded: the bytes are still exact */
    }
    return;
  }
  const desc = deviceDescription(s, rec.idstr);
  if (desc) {
    try {
      rec.vmstate = decodeVmstate(rec.data, desc);
    } catch {
      /* description does not fit these bytes: keep them opaque */
    }
  }
}


/** The stream's description of the device section being read (VFIO sections have their own format). */
function deviceDescription(s: MainDecoderCore, idstr: string): VmdescDevice | undefined {
  const inst = s.deviceInstance;
  if (inst === undefined || isVfioIdstr(idstr)) return undefined;
  return s.vmdescIndex?.get(`${idstr}/${inst}`);
}

/** Can a record start at relative index j? 'need' when more bytes would tell. */
export function plausibleRecordAt(s: MainDecoderCore, j: number, frameLeft: number): 'yes' | 'no' | 'need' {
  const q = s.q;
  if (j === frameLeft) return 'yes';
  const have = (n: number): boolean => j + n <= q.length;
  if (!have(1)) return s.ended ? 'yes' : 'need';
  const t = q.byte(j);
  switch (t) {
    case RecordType.Eof: {
      if (j + 1 === frameLeft) return 'yes';
      if (!have(2)) return s.ended ? 'yes' : 'need';
      // Two EOFs in a row never occur (a PACKAGED stream's EOF is the last byte of its frame, taken
      // above); zero bytes inside device data (a timer's 0x7e 00000000 0000...) would pass for them.
      const n = q.byte(j + 1);
      return n === RecordType.VmDescription || n === RecordType.Command ? 'yes' : 'no';
    }
    case RecordType.SectionStart:
    case RecordType.SectionFull: {
      if (!have(6)) return s.ended ? 'no' : 'need';
      const len = q.byte(j + 5);
      if (len === 0 || q.u32(j + 1) > 0xffffff) return 'no';
      if (!have(6 + len)) return s.ended ? 'no' : 'need';
      return isPrintableAscii(q.peek(j + 6, len), 0, len) ? 'yes' : 'no';
    }
    case RecordType.SectionPart:
    case RecordType.SectionEnd:
      if (!have(5)) return s.ended ? 'no' : 'need';
      return s.sections.has(q.u32(j + 1)) ? 'yes' : 'no';
    case RecordType.VmDescription:
      if (!have(6)) return s.ended ? 'no' : 'need';
      return q.byte(j + 5) === 0x7b ? 'yes' : 'no';
    case RecordType.Command: {
      if (!have(3)) return s.ended ? 'no' : 'need';
      const c = q.u16(j + 1);
      return c >= 1 && c <= 11 ? 'yes' : 'no';
    }
    default:
      return 'no';
  }
}
