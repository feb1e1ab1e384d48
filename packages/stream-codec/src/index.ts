/** The public API of @migwire/stream-codec. Internals: `@migwire/stream-codec/internal`. */
import { asCodecErrors } from './core/problem.js';
import { applyXbzrle as applyXbzrlePayload } from './ram/xbzrle.js';
import { decodeVmstateChecked } from './vmstate/vmdesc.js';
import { indexVmdesc as indexVmdescChecked, parseVmdesc as parseVmdescJson } from './vmstate/description.js';
import { decodeVfioItems as decodeVfioPayload } from './vfio/vfio.js';
import { decodeDirtyBitmapChunks as decodeDirtyBitmapPayload } from './block/dirty-bitmap.js';
import { decodeBlockMigrationChunks as decodeBlockMigrationPayload } from './block/block-migration.js';

export { CodecError, ErrorCode, isCodecError, type CodecErrorDetails } from './core/errors.js';
export * from './core/constants.js';
export type { U64 } from './core/bytes.js';
export { DEFAULT_LIMITS, type DecoderLimits } from './core/limits.js';
export { type ChannelRole, type ChannelIdentity, CHANNEL_ROLES, isChannelRole, isEncryptedRole } from './identify/channel-role.js';
export { identifyChannel, IDENTIFY_BYTES, type IdentifyContext } from './identify/identify-channel.js';
export { MultifdResync, isPlausibleMultifdPacket, MULTIFD_RESYNC_WINDOW } from './identify/resync.js';
export { MainResync, ramChainAt, MAIN_RESYNC_CHAIN, MAIN_RESYNC_SCAN_BYTES, type MainResyncOptions } from './identify/main-resync.js';
export { ArrivalOrder, type ArrivalLayout, type ArrivalProblem, type ArrivalVerdict } from './identify/arrival-order.js';
export { decoderFor, isDecodableRole, type CodecRecord, type DecodableRole, type Decoder, type DecoderOptions } from './decoder/decoder-for.js';
export {
  MainStreamDecoder,
  decodeMainStream,
  RESUMED_BLOCK_UNKNOWN,
  RESUMED_SECTION_UNKNOWN,
  type MainDecoderOptions,
  type RamCapabilities,
  type RecordSink,
  type ResumeInRam,
  type PassedPageRun,
  type PassPageRunOptions,
  forEachRunEntry,
  forEachRunRecord,
} from './main/decoder.js';
export { PageRunScanner, findPageRunStart, forEachRunPage, pageRecordLength, DETAIL_FIELDS, type ScanStop, type PageRun, type PageRunBlock, type PageRunDetail, type PageRunLast } from './main/page-run.js';
export { encodeMainRecord, encodeMainRecordParts, encodeMainStream } from './main/encoder.js';
export type * from './main/records.js';
export { advisesRamPostcopy, decodeCommandArgs, commandName, type CommandArgs, type DiscardRange } from './main/commands.js';
export type { ConfigurationSubsection } from './main/configuration.js';
export { ReturnPathDecoder, decodeReturnPath, type ReturnPathDecoderOptions, type ReturnPathSink } from './return-path/decoder.js';
export { encodeReturnPathRecord } from './return-path/encoder.js';
export type * from './return-path/records.js';
export { encodeXbzrle } from './ram/xbzrle.js';
export { MAX_VMDESC_DEPTH, isVmdesc, type ParsedVmdesc, type Vmdesc, type VmdescDevice, type VmdescField, type VmdescVmsd } from './vmstate/description.js';
export {
  PTR_MARKER_TYPE,
  type VmstateDevice,
  type VmstateField,
  type VmstateStruct,
  type VmstateSubsection,
  type VmstateValue,
} from './vmstate/vmdesc.js';
export * from './releases/index.js';
export { isVfioIdstr, type VfioItem } from './vfio/vfio.js';
export { DIRTY_BITMAP_IDSTR, DIRTY_BITMAP_START_RESERVED, DirtyBitmapFlag, type DirtyBitmapChunk } from './block/dirty-bitmap.js';
export { BLOCK_MIGRATION_BLOCK_BYTES, BLOCK_MIGRATION_IDSTR, BLOCK_MIGRATION_SECTOR_BITS, BlockMigrationFlag, type BlockMigrationChunk } from './block/block-migration.js';
export { MultifdDecoder, decodeMultifdChannel, type MultifdDecoderOptions, type MultifdSink } from './multifd/decoder.js';
export { encodeMultifdRecord, encodeMultifdRecordParts, type MultifdRecordInput } from './multifd/encoder.js';
export { MultifdPageDecoder, type MultifdPage } from './multifd/pages.js';
export { MultifdPacketBuilder, type PacketBuilderOptions, type PacketPages } from './multifd/packet-builder.js';
export {
  COMPRESSION_BY_FLAG,
  COMPRESSION_FLAG,
  isPayloadCompression,
  packetCompression,
  pageCompressor,
  prepareCompression,
  type CompressionMethod,
  type PageCompressor,
  type PayloadCompression,
} from './multifd/compression.js';
export * from './multifd/constants.js';
export type * from './multifd/records.js';

// Payload parsers: a bad payload throws a CodecError on the named payload, offset relative to it.
/** Apply an XBZRLE delta to a page (the previous contents); returns the new page. */
export const applyXbzrle = asCodecErrors(applyXbzrlePayload, 'xbzrle payload');
/** Decode a device's VMState bytes with its VMDESCRIPTION entry. */
export const decodeVmstate = asCodecErrors(decodeVmstateChecked, 'vmstate payload');
/** Index a VMDESCRIPTION by "idstr/instance"; a malformed one is a BAD_VMDESC CodecError on "vmdesc". */
export const indexVmdesc = asCodecErrors(indexVmdescChecked, 'vmdesc');
/** Parse and check a VMDESCRIPTION's JSON bytes (what the decoder does); BAD_VMDESC on "vmdesc", offset within the JSON. */
export const parseVmdesc = asCodecErrors(parseVmdescJson, 'vmdesc');
/** Decode the items of a VFIO device section. */
export const decodeVfioItems = asCodecErrors(decodeVfioPayload, 'vfio payload');
/** Decode the chunks of a "dirty-bitmap" section's data (BAD_DIRTY_BITMAP, offset within the data). */
export const decodeDirtyBitmapChunks = asCodecErrors(decodeDirtyBitmapPayload, 'dirty-bitmap payload');
/** Decode the chunks of a "block" section's data (BAD_BLOCK_MIGRATION, offset within the data). */
export const decodeBlockMigrationChunks = asCodecErrors(decodeBlockMigrationPayload, 'block payload');
