/** Options of the main-channel decoder. */
import type { DecoderLimits } from '../core/limits.js';
import type { MainRecord, RamBlockInfo } from './records.js';
import type { Vmdesc } from '../vmstate/description.js';
import type { ResumeInRam } from './resume.js';

export type RecordSink = (record: MainRecord) => void;

export interface RamCapabilities {
  /** Blocks carry a be64 page size when postcopy-ram is on and their page size differs from the host's. */
  postcopyRam?: boolean;
  /** Blocks carry a be64 guest address (x-ignore-shared). */
  ignoreShared?: boolean;
  /** Blocks carry a mapped-ram header, and the file skips to the end of each block's page region. */
  mappedRam?: boolean;
}

export interface MainDecoderOptions {
  /** Channel name used in errors. Default "main". */
  channel?: string;
  /**
   * Where the bytes start: "header" (a whole stream, QEVM first), "records"
   * (records with no header, e.g. a PACKAGED payload), or "ram" (bare RAM
   * records: the postcopy-preempt channel).
   */
  start?: 'header' | 'records' | 'ram';
  /**
   * The bytes start at a RAM record of a main stream found mid-way (MainResync: a capture that
   * missed the stream's start); overrides `start`. Decoding goes on in that RAM section, then
   * through everything after it as usual. RAM records before the section's id is learnt (from
   * the first footer or SECTION_PART/END) carry `sectionId` RESUMED_SECTION_UNKNOWN, CONTINUE pages
   * before a record names its block carry `block` RESUMED_BLOCK_UNKNOWN; a PART/END of any other
   * section whose START was not seen fails with SECTION_START_NOT_CAPTURED.
   */
  resumeInRam?: ResumeInRam;
  /** Target page size (flags live below it). Default 4096 (x86). */
  targetPageSize?: number;
  /**
   * Device descriptions to decode VMState fields with, before the stream's own trailer arrives.
   * Checked first: a malformed one is a BAD_VMDESC error at byte 0, raised by the first write.
   */
  vmdesc?: Vmdesc;
  /** RAM blocks known from elsewhere (the main channel, for a preempt channel). */
  ramBlocks?: RamBlockInfo[];
  /** Per-block extras in MEM_SIZE; by default taken from the CONFIGURATION capabilities. */
  capabilities?: RamCapabilities;
  /** Page size of a block, for the postcopy-ram extra (blocks backed by huge pages). */
  blockPageSize?: (block: string) => number | undefined;
  /** Host page size the postcopy-ram extra is compared with. Default 4096. */
  hostPageSize?: number;
  limits?: Partial<DecoderLimits>;
  /**
   * Release of the destination the stream is meant for ("11.1"): the decoder then refuses what
   * that release refuses (command 8 from 11.0 on). Unset: every release's records are accepted.
   */
  destinationRelease?: string;
  /**
   * Consume PAGE payloads without handing them out: `ram-page` records then carry an empty `data`
   * (the payload's length is `pageSize`). For readers that only list or count pages (no view per
   * page is made, so less garbage).
   */
  skipPagePayloads?: boolean;
}
