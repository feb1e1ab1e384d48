export { main } from './cli.js';
export { InputError } from './input-error.js';
export { decodeInput, type AnyRecord, type ChannelResult, type DecodeOptions } from './decode/channels.js';
export { MemoryOutput, StdOutput, type Output } from './cli-io.js';
export { runExtract, type ExtractOptions, type ExtractReport } from './commands/extract.js';
export { checkRules, type CheckReport, type RuleResult, type RuleStatus } from './check/rules.js';
export { LiveChecker, type LiveViolation } from './check/live.js';
export { record, report as recordReport, type RecordOptions } from './commands/record.js';
export { runTranscode, planFor, inferRelease, type TranscodeOptions, type TranscodeReport, type ReturnPathReport, type QemuRelease } from './transcode/run.js';
export { Transcoder, type TranscodePlan, type TranscodeCounts, type TranscodeHooks, type PostcopyPage, type UnsafeFlushPlacement } from './transcode/transcoder.js';
export { DestinationOrderReader, type DestinationOrderOptions, type OrderedEvent, type RecordedPage } from './decode/destination-order.js';
export { PageRouter, type PageRoute, type RouteDecision } from './transcode/page-router.js';
export { DiscardSink, SocketSink, type ByteSink } from './transcode/sinks.js';
export { TranscodeError, type TranscodeErrorCode } from './transcode/errors.js';
export { replayCapture } from './replay/replay.js';
export { prepareDestination, type PrepareOptions } from './replay/destination.js';
export { formatReplayReport } from './commands/replay.js';
export { planReplay, destinationSettings, recordedDestination, recordedTlsTerminated, type ReplayPlan, type PlannedConnection } from './replay/plan.js';
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
