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

// Destination side: the barrier (state machine, live, recorded timeline) and the postcopy assertion.
export { SyncBarrier, type BarrierRelease, type SyncArrival, type SyncBarrierOptions } from './destination/sync-barrier.js';
export { LiveSyncBarrier } from './destination/live-sync-barrier.js';
export { isMainBarrier } from './destination/barrier-record.js';
export {
  replaySyncTimeline,
  type BarrierPassage,
  type TimelineOptions,
  type TimelineReplay,
  type TimelineStep,
} from './destination/timeline-replay.js';
export { MultifdPostcopyAssertion, type DestinationPhase } from './destination/postcopy-assertion.js';

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
