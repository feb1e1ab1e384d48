/** Records of the main migration channel, as the decoder emits and the encoder takes them. */
import type { DirtyBitmapChunk } from '../block/dirty-bitmap.js';
import type { BlockMigrationChunk } from '../block/block-migration.js';
import type { U64 } from '../core/bytes.js';
import type { VmstateDevice } from '../vmstate/vmdesc.js';
import type { VfioItem } from '../vfio/vfio.js';
import type { CommandArgs } from './commands.js';
import type { ConfigurationSubsection } from './configuration.js';

export interface RecordPosition {
  /** Absolute byte offset of the record's first byte in its channel. */
  offset: number;
  /** Bytes the record occupies on the wire. */
  length: number;
  /** 0 in the top-level stream, 1 inside a PACKAGED command's nested stream, ... */
  depth: number;
}

export interface HeaderRecord extends RecordPosition {
  kind: 'header';
  magic: number;
  version: number;
}

export interface ConfigurationRecord extends RecordPosition {
  kind: 'configuration';
  /** Machine type, e.g. "pc-q35-10.0". */
  machine: string;
  subsections: ConfigurationSubsection[];
}

export type SectionType = 'start' | 'part' | 'end' | 'full';

export interface SectionHeaderRecord extends RecordPosition {
  kind: 'section';
  sectionType: SectionType;
  sectionId: number;
  /** Handler name; for PART/END it is recalled from the START with the same id. */
  idstr: string;
  /** Present for START/FULL only. */
  instanceId?: number;
  versionId?: number;
}

export interface SectionFooterRecord extends RecordPosition {
  kind: 'footer';
  sectionId: number;
}

export interface EofRecord extends RecordPosition {
  kind: 'eof';
}

export interface VmDescriptionRecord extends RecordPosition {
  kind: 'vmdescription';
  /** The JSON text's bytes as they came. */
  json: Uint8Array;
  /**
   * The parsed JSON object, shape checked: a Vmdesc when it has "devices" (QEMU's always do). A
   * malformed description fails the decoder with BAD_VMDESC at the JSON instead.
   */
  description?: unknown;
}

export interface CommandRecord extends RecordPosition {
  kind: 'command';
  command: number;
  name: string;
  /** Payload bytes as they came (the `len` bytes after cmd/len). */
  payload: Uint8Array;
  args: CommandArgs;
}

export interface RamBlockInfo {
  name: string;
  usedLength: number;
  /** be64 page size: sent with postcopy-ram when the block's page size differs from the host's. */
  pageSize?: U64;
  /** be64 guest address: sent with x-ignore-shared. */
  address?: U64;
  /** mapped-ram per-block header. */
  mappedRam?: MappedRamHeader;
}

export interface MappedRamHeader {
  version: number;
  pageSize: U64;
  bitmapOffset: U64;
  pagesOffset: U64;
}

interface RamRecordBase extends RecordPosition {
  /**
   * The RAM section's id. In a stream decoded from mid-way (`resumeInRam`), RESUMED_SECTION_UNKNOWN
   * (-1) until the section's id is learnt from its first footer or SECTION_PART/END.
   */
  sectionId: number;
  /** All flag bits exactly as they came (CONTINUE included). */
  flags: number;
}

export interface RamMemSizeRecord extends RamRecordBase {
  kind: 'ram-mem-size';
  /** Sum of the used lengths of the blocks listed next (one ram-block record each). */
  totalBytes: number;
}

/** One entry of the MEM_SIZE block list. */
export interface RamBlockRecord extends RecordPosition {
  kind: 'ram-block';
  sectionId: number;
  block: RamBlockInfo;
}

interface RamPageBase extends RamRecordBase {
  /**
   * RAM block the page belongs to (named on the wire, or carried over by CONTINUE). In a stream
   * decoded from mid-way (`resumeInRam`), RESUMED_BLOCK_UNKNOWN ('') for CONTINUE pages that come
   * before any record names a block (it was named before the resume point).
   */
  block: string;
  /** Byte offset of the page within its block. */
  pageOffset: number;
}

export interface RamPageRecord extends RamPageBase {
  kind: 'ram-page';
  /**
   * The page bytes: a view into the received chunk; copy it to keep it past the chunk. Empty when
   * the decoder was made with `skipPagePayloads`.
   */
  data: Uint8Array;
}

export interface RamZeroRecord extends RamPageBase {
  kind: 'ram-zero';
  /** Fill byte: QEMU always sends 0; anything else is kept as it came. */
  fill: number;
}

export interface RamXbzrleRecord extends RamPageBase {
  kind: 'ram-xbzrle';
  encoding: number;
  /** XBZRLE delta against the destination's previous copy of the page. */
  delta: Uint8Array;
}

export interface RamCompressedRecord extends RamPageBase {
  kind: 'ram-compressed';
  /** zlib stream of the legacy `compress` capability (removed in QEMU 9.1). */
  data: Uint8Array;
}

export interface RamMarkerRecord extends RamRecordBase {
  kind: 'ram-eos' | 'ram-multifd-flush' | 'ram-hook';
}

/** Raw bytes of a mapped-ram file region (bitmap and page slots) that the main stream skips over. */
export interface MappedRamDataRecord extends RecordPosition {
  kind: 'mapped-ram-data';
  block: string;
  data: Uint8Array;
}

export interface DeviceStateRecord extends RecordPosition {
  kind: 'device-state';
  sectionId: number;
  idstr: string;
  /** The section's data bytes exactly as they came (between the header and the footer). */
  data: Uint8Array;
  /** VMState fields, when a description of this device was in hand. */
  vmstate?: VmstateDevice;
  /** VFIO items, for sections whose idstr ends in "/vfio". */
  vfio?: VfioItem[];
  /** The chunks of a "dirty-bitmap" section (capability dirty-bitmaps). */
  dirtyBitmap?: DirtyBitmapChunk[];
  /** The chunks of a "block" section (block migration, up to QEMU 9.0). */
  blockMigration?: BlockMigrationChunk[];
}

export type RamRecord =
  | RamMemSizeRecord
  | RamBlockRecord
  | RamPageRecord
  | RamZeroRecord
  | RamXbzrleRecord
  | RamCompressedRecord
  | RamMarkerRecord;

export type MainRecord =
  | HeaderRecord
  | ConfigurationRecord
  | SectionHeaderRecord
  | SectionFooterRecord
  | EofRecord
  | VmDescriptionRecord
  | CommandRecord
  | RamRecord
  | MappedRamDataRecord
  | DeviceStateRecord;

export type MainRecordKind = MainRecord['kind'];

/** A record without its position: what the encoder needs (and what builders of new streams write). */
export type MainRecordInput = MainRecord extends infer R ? (R extends MainRecord ? Omit<R, keyof RecordPosition> : never) : never;
