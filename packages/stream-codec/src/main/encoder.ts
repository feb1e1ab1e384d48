/**
 * Main-channel encoder: records back to bytes. Decoding a stream and encoding
 * its records gives back the same bytes; each record encodes on its own, so a
 * stream can be re-emitted (or doctored) record by record.
 */
import { RamFlag, RecordType } from '../core/constants.js';
import { concat, latin1ToBytes, writeU16, writeU32, writeU64 } from '../core/bytes.js';
import { encodeConfigurationSubsection } from './configuration.js';
import type { MainRecordInput } from './records.js';

/** Encode one record as the parts that make it up (page data is passed through, not copied). */
export function encodeMainRecordParts(r: MainRecordInput): Uint8Array[] {
  switch (r.kind) {
    case 'header': {
      const b = new Uint8Array(8);
      writeU32(b, 0, r.magic);
      writeU32(b, 4, r.version);
      return [b];
    }
    case 'configuration': {
      const name = latin1ToBytes(r.machine);
      const b = new Uint8Array(5 + name.length);
      b[0] = RecordType.Configuration;
      writeU32(b, 1, name.length);
      b.set(name, 5);
      return [b, ...r.subsections.map(encodeConfigurationSubsection)];
    }
    case 'section': {
      if (r.sectionType === 'start' || r.sectionType === 'full') {
        const id = latin1ToBytes(r.idstr);
        const b = new Uint8Array(6 + id.length + 8);
        b[0] = r.sectionType === 'start' ? RecordType.SectionStart : RecordType.SectionFull;
        writeU32(b, 1, r.sectionId);
        b[5] = id.length;
        b.set(id, 6);
        writeU32(b, 6 + id.length, r.instanceId ?? 0);
        writeU32(b, 10 + id.length, r.versionId ?? 0);
        return [b];
      }
      const b = new Uint8Array(5);
      b[0] = r.sectionType === 'part' ? RecordType.SectionPart : RecordType.SectionEnd;
      writeU32(b, 1, r.sectionId);
      return [b];
    }
    case 'footer': {
      const b = new Uint8Array(5);
      b[0] = RecordType.SectionFooter;
      writeU32(b, 1, r.sectionId);
      return [b];
    }
    case 'eof':
      return [Uint8Array.of(RecordType.Eof)];
    case 'vmdescription': {
      const b = new Uint8Array(5);
      b[0] = RecordType.VmDescription;
      writeU32(b, 1, r.json.length);
      return [b, r.json];
    }
    case 'command': {
      const b = new Uint8Array(5);
      b[0] = RecordType.Command;
      writeU16(b, 1, r.command);
      writeU16(b, 3, r.payload.length);
      return [b, r.payload];
    }
    case 'ram-mem-size':
      return [ramHeader(r.totalBytes, r.flags)];
    case 'ram-block': {
      const info = r.block;
      const name = latin1ToBytes(info.name);
      const extras = (info.pageSize !== undefined ? 8 : 0) + (info.address !== undefined ? 8 : 0) + (info.mappedRam ? 28 : 0);
      const b = new Uint8Array(1 + name.length + 8 + extras);
      b[0] = name.length;
      b.set(name, 1);
      let at = 1 + name.length;
      writeU64(b, at, info.usedLength);
      at += 8;
      if (info.pageSize !== undefined) {
        writeU64(b, at, info.pageSize);
        at += 8;
      }
      if (info.address !== undefined) {
        writeU64(b, at, info.address);
        at += 8;
      }
      if (info.mappedRam) {
        writeU32(b, at, info.mappedRam.version);
        writeU64(b, at + 4, info.mappedRam.pageSize);
        writeU64(b, at + 12, info.mappedRam.bitmapOffset);
        writeU64(b, at + 20, info.mappedRam.pagesOffset);
      }
      return [b];
    }
    case 'ram-page':
      return [ramPageHead(r.pageOffset, r.flags, r.block), r.data];
    case 'ram-zero':
      return [ramPageHead(r.pageOffset, r.flags, r.block), Uint8Array.of(r.fill)];
    case 'ram-xbzrle': {
      const t = new Uint8Array(3);
      t[0] = r.encoding;
      writeU16(t, 1, r.delta.length);
      return [ramPageHead(r.pageOffset, r.flags, r.block), t, r.delta];
    }
    case 'ram-compressed': {
      const t = new Uint8Array(4);
      writeU32(t, 0, r.data.length);
      return [ramPageHead(r.pageOffset, r.flags, r.block), t, r.data];
    }
    case 'ram-eos':
    case 'ram-multifd-flush':
    case 'ram-hook':
      return [ramHeader(0, r.flags)];
    case 'mapped-ram-data':
      return [r.data];
    case 'device-state':
      return [r.data];
  }
}

function ramHeader(offset: number, flags: number): Uint8Array {
  const b = new Uint8Array(8);
  writeU64(b, 0, offset + flags);
  return b;
}

function ramPageHead(offset: number, flags: number, block: string): Uint8Array {
  if (flags & RamFlag.Continue) return ramHeader(offset, flags);
  const name = latin1ToBytes(block);
  const b = new Uint8Array(9 + name.length);
  writeU64(b, 0, offset + flags);
  b[8] = name.length;
  b.set(name, 9);
  return b;
}

/** Encode one record into a single buffer. */
export function encodeMainRecord(r: MainRecordInput): Uint8Array {
  const parts = encodeMainRecordParts(r);
  if (parts.length === 1) return parts[0]!;
  return concat(parts);
}

/** Encode a list of records into one buffer. */
export function encodeMainStream(records: Iterable<MainRecordInput>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const r of records) parts.push(...encodeMainRecordParts(r));
  return concat(parts);
}
