export { SyncError, SyncErrorCode, isSyncError, multifdChannelName, type SyncErrorDetails } from './errors.js';
export { flushModeFor, type FlushMode, type FlushModeSource } from './flush-mode.js';

// Source side: flush ordering and the postcopy guard.
export type { MainChannelSink, MultifdChannelSink, OutgoingPagesPacket, OutgoingSyncPacket, PageRef } from './source/sinks.js';
export {
  MultifdFlushCoordinator,
  type FlushCoordinatorOptions,
  type FlushReason,
  type FlushReport,
  type MainBarrierMarker,
  type QueueOutcome,
} from './source/flush-coordinator.js';
export { RoundTracker } from './source/round-tracker.js';
export { PageRouter, type PageRoute, type PageRouterOptions, type RouteDecision, type RoutedPage } from './source/page-router.js';

// Destination side: the barrier (state machine, live, recorded timeline) and the postcopy assertion.
export { SyncBarrier, type BarrierRelease, type SyncArrival, type SyncBarrierOptions } from './destination/sync-barrier.js';
export { LiveSyncBarrier } from './destination/live-sync-barrier.js';
export { isMainBarrier, RecordedBarriers } from './destination/barrier-record.js';
export {
  DestinationOrderReader,
  type DestinationOrderOptions,
  type OrderedEvent,
  type RecordedMultifd,
  type RecordedPage,
} from './destination/destination-order.js';
export {
  replaySyncTimeline,
  type BarrierPassage,
  type TimelineOptions,
  type TimelineReplay,
  type TimelineStep,
} from './destination/timeline-replay.js';
export { MultifdPostcopyAssertion, type DestinationPhase, type PostcopyAssertionOptions } from './destination/postcopy-assertion.js';

// Switchover: the ACK gate, PRECOPY_INFO readiness, the decision.
export { diagnoseSwitchoverAck, type SwitchoverAckSetup, type SwitchoverBlocker } from './switchover/ack-setup.js';
export { SwitchoverAckGate, type SwitchoverGateState, type SwitchoverGateStatus } from './switchover/ack-gate.js';
export {
  PrecopyReadiness,
  type PrecopyInfo,
  type ReadinessChange,
  type ReadinessSummary,
  type ReadinessUpdate,
} from './switchover/precopy-readiness.js';
export { decideSwitchover, type HoldReason, type SwitchoverDecision, type SwitchoverInputs } from './switchover/decision.js';

// The rule engine: every protocol rule, offline over a capture and live over flowing channels.
export { checkCapture, multifdChannelShortfall, recordedConfiguration, ruleChannel, type CheckOptions, type CheckReport } from './rules/check-capture.js';
export { LiveChecker, type LiveViolation } from './rules/live-checker.js';
export { createRules, type RuleSet } from './rules/all-rules.js';
export { PageRequestsServedRule } from './rules/page-requests-served.js';
export { RULE_SUMMARIES } from './rules/rule-summaries.js';
export { StreamFacts, type RecordedConfiguration, type StreamPoint } from './rules/facts.js';
export { Rule, type ChannelEnd, type RuleChannel, type RuleId, type RuleResult, type RuleStatus, type Violation } from './rules/rule.js';
export type { RoundSummary } from './rules/round-order.js';

// What a capture shows of its destination's settings (inputs without meta.json).
export { inferDestinationSettings, type DestinationInference, type InferredSetting } from './settings/infer-settings.js';
export { CapabilityEvidence, type Evidence, type EvidenceChannel } from './settings/capability-evidence.js';
