export { main } from './cli.js';
export { DataError, InputError } from './input-error.js';
export { MemoryOutput, StdOutput, type Output } from './cli-io.js';
export { runExtract, type ExtractOptions, type ExtractReport } from './extract/command.js';
export { runImport, type ImportOptions, type ImportReport, type ImportHole } from './import/command.js';
export { record, report as recordReport, type RecordOptions } from './record/command.js';
export { runTranscode, planFor, inferRelease, type TranscodeOptions, type TranscodeReport, type ReturnPathReport, type QemuRelease } from './transcode/run.js';
export { Transcoder, type TranscodePlan, type TranscodeCounts, type TranscodeHooks, type PostcopyPage } from './transcode/transcoder.js';
export { DiscardSink, SocketSink, type ByteSink } from './transcode/sinks.js';
export { TranscodeError, type TranscodeErrorCode } from './transcode/errors.js';
export { replayCapture } from './replay/replay.js';
export { prepareDestination, type PrepareOptions } from './replay/destination.js';
export { formatReplayReport } from './replay/command.js';
export { planReplay, destinationSettings, recordedDestination, recordedTlsTerminated, NoByteSourceError, type ReplayPlan, type PlannedConnection } from './replay/plan.js';
export { replaySettings, type ReplaySettings } from './replay/settings.js';
export type {
  ReplayOptions,
  ReplayReport,
  ReplayTiming,
  ReplayProgress,
  ReplayOutcome,
  ReplayFailure,
  ReplayConnectionReport,
  ReturnPathComparison,
  DestinationStatus,
} from './replay/types.js';
export { replayIntoFreshQemu, type FreshReplayOptions, type FreshReplayResult } from './replay/fresh.js';
export * from './fuzz/index.js';
