export { CodecError, ErrorCode, isCodecError, type CodecErrorDetails } from './core/errors.js';
export * from './core/constants.js';
export { ChunkQueue } from './core/chunk-queue.js';
export { MainStreamDecoder, decodeMainStream, type MainDecoderOptions, type RamCapabilities, type RecordSink } from './main/decoder.js';
export { encodeMainRecord, encodeMainRecordParts, encodeMainStream } from './main/encoder.js';
export { DEFAULT_MAIN_LIMITS, type MainDecoderLimits } from './main/limits.js';
export type * from './main/records.js';
export { decodeCommandArgs, commandName, type CommandArgs, type DiscardRange } from './main/commands.js';
export type { ConfigurationSubsection } from './main/configuration.js';
export { ReturnPathDecoder, decodeReturnPath, type ReturnPathDecoderOptions, type ReturnPathSink } from './return-path/decoder.js';
export { encodeReturnPathRecord } from './return-path/encoder.js';
export type * from './return-path/records.js';
export { applyXbzrle, encodeXbzrle } from './ram/xbzrle.js';
export {
  decodeVmstate,
  indexVmdesc,
  isVmdesc,
  type Vmdesc,
  type VmdescDevice,
  type VmdescField,
  type VmdescVmsd,
  type VmstateDevice,
  type VmstateField,
  type VmstateStruct,
  type VmstateSubsection,
  type VmstateValue,
} from './vmstate/vmdesc.js';
export { decodeVfioItems, isVfioIdstr, type VfioItem } from './vfio/vfio.js';
export { MultifdDecoder, decodeMultifdChannel, type MultifdDecoderOptions, type MultifdSink } from './multifd/decoder.js';
export { encodeMultifdRecord, encodeMultifdRecordParts, type MultifdRecordInput } from './multifd/encoder.js';
export { MultifdPageDecoder, type MultifdPage } from './multifd/pages.js';
export * from './multifd/constants.js';
export type * from './multifd/records.js';
export { PayloadProblem } from './core/problem.js';
export { type ChannelRole, type ChannelIdentity, CHANNEL_ROLES, isChannelRole, isEncryptedRole } from './identify/channel-role.js';
export { identifyChannel, IDENTIFY_BYTES, type IdentifyContext } from './identify/identify-channel.js';
