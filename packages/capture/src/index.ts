export { CaptureError, CaptureSelectionError, StreamHoleError, type CaptureErrorCode } from './errors.js';
export { isPipePath, isStreamPath, plainFileAt, requirePlainFile } from './plain-file.js';
export {
  CHUNKS_FILE,
  connectionFileName,
  connectionLabel,
  DIRECTIONS,
  INDEX_FILE,
  META_FILE,
  parseConnectionFileName,
  STREAM_FILES,
  type Direction,
} from './naming.js';
export {
  roleRows,
  TCP_PROXY_FORMAT,
  type CaptureStatus,
  type DirectionStats,
  type EndReason,
  type RoleRow,
  type RoleSummarySource,
  type TcpConnection,
  type TcpProxyIndex,
} from './index-schema/tcp-proxy.js';
export {
  FILE_FORMAT,
  isTcpProxyIndex,
  PROBE_FORMAT,
  readCaptureIndex,
  writeCaptureIndex,
  type CaptureIndex,
  type FileIndex,
  type ProbeIndex,
  type StreamFileRow,
} from './index-schema/capture-index.js';
export { verifyChannels } from './open/verify-channels.js';
export { readCaptureMeta, type CaptureMeta, type MetaSetupCall } from './index-schema/meta.js';
export { restampIndex } from './index-schema/restamp.js';
export { bytesNotWritten, recordingShortfalls, type RecordingShortfall } from './index-schema/shortfalls.js';
export { CHUNKS_HEADER, MAX_CHUNK, MAX_CHUNKS_LINE, type ChunkRow } from './chunks/chunk-row.js';
export { readChunks, type ChunkLine } from './chunks/reader.js';
export { ChunksWriter } from './chunks/writer.js';
export { ArrivalTimes, type ArrivalRuns } from './chunks/arrival-times.js';
export { openCapture, type Capture, type CaptureChannel, type OpenCaptureOptions } from './open/open-capture.js';
export { fileBytes, isGzipPath, readHead, channelSize } from './open/byte-source.js';
export { findTrailingVmdesc } from './open/trailer.js';
export { describeMigration } from './open/describe-migration.js';
export type { PcapSelection } from './open/pcap-capture.js';
export { pcapConnectionTimes, type PcapConnectionTimes } from './open/pcap-times.js';
export {
  createOutputStream,
  makeDirs,
  openOutputFile,
  OutputError,
  prepareOutputDir,
  SpaceReserve,
  writeFileAtomic,
  writeOutputFile,
  type OutputFileOptions,
} from './output/safe-output.js';
export { channelOrder, decodeCapture, type ChannelResult, type DecodeOptions } from './decode/decode-capture.js';
export { ChannelCursor, type ChannelCursorOptions, type PageRunItem } from './decode/channel-cursor.js';
export { channelBytes } from './decode/file-bytes.js';
export { PAGE_RUNS_MIN_BYTES } from './decode/page-runs/ahead.js';
export { HASH_ASIDE_MIN_BYTES, sha256OfFile } from './open/hash-aside.js';
export { channelNames, incompleteStream, notAMigrationStream, nothingDecoded } from './decode/outcome.js';
export {
  midStreamChannels,
  midStreamText,
  requireStreamStart,
  streamStartOptions,
  StreamStartNotCapturedError,
  type StreamStartOptions,
} from './decode/stream-start.js';
