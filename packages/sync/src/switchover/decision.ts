import { assertNonNegative } from '../errors.js';
import type { SwitchoverGateStatus } from './ack-gate.js';
import type { ReadinessSummary } from './precopy-readiness.js';

export interface SwitchoverInputs {
  /** Cheap pending estimate (all devices), in bytes. */
  pendingEstimateBytes: number;
  /** Exact pending figure, once asked for (after a 'query-exact' decision). */
  exactPendingBytes?: number;
  /** Measured bandwidth, bytes per second. */
  bandwidthBytesPerSecond: number;
  /** downtime-limit, milliseconds. */
  downtimeLimitMs: number;
  /** Whether getting the exact figure needs the VM stopped (some devices only know their size then). */
  exactRequiresStop?: boolean;
  /** The switchover-ack gate's status; absent = no ACK rule. */
  gate?: SwitchoverGateStatus;
  /** PRECOPY_INFO readiness; absent = no device with initial data. */
  readiness?: ReadinessSummary;
}

export type HoldReason =
  /** The destination's SWITCHOVER_ACK has not arrived yet. */
  | 'awaiting-switchover-ack'
  /** The ACK can never arrive (gate state 'never'): this migration will not converge by itself. */
  | 'switchover-ack-never'
  /** A device has initial bytes left, e.g. after a REINIT revoked its readiness. */
  | 'device-initial-data';

export type SwitchoverDecision =
  | { action: 'continue'; reason: 'estimate-above-threshold' | 'exact-above-threshold'; pendingBytes: number; thresholdBytes: number }
  /** The estimate is under the threshold: ask for the exact figure (stop the VM first if `stopVmFirst`). */
  | { action: 'query-exact'; stopVmFirst: boolean; thresholdBytes: number }
  /** The figures are fine but a rule forbids stopping the VM. */
  | { action: 'hold'; reason: HoldReason; pendingBytes: number; thresholdBytes: number }
  | { action: 'switchover'; pendingBytes: number; thresholdBytes: number; expectedDowntimeMs: number };

/**
 * One iteration's switchover decision, QEMU's way: threshold = bandwidth x downtime limit; an
 * estimate above it means keep copying; below it, get the exact figure, and switch over when that
 * is within the threshold too (pending / bandwidth <= downtime limit) and no rule holds the VM.
 * Rules are checked before asking for the exact figure: no point paying for it (possibly a VM
 * stop) while the switchover is blocked anyway.
 */
export function decideSwitchover(inputs: SwitchoverInputs): SwitchoverDecision {
  assertNonNegative('pendingEstimateBytes', inputs.pendingEstimateBytes);
  assertNonNegative('bandwidthBytesPerSecond', inputs.bandwidthBytesPerSecond);
  assertNonNegative('downtimeLimitMs', inputs.downtimeLimitMs);
  if (inputs.exactPendingBytes !== undefined) assertNonNegative('exactPendingBytes', inputs.exactPendingBytes);

  const thresholdBytes = (inputs.bandwidthBytesPerSecond * inputs.downtimeLimitMs) / 1000;
  const estimate = inputs.pendingEstimateBytes;
  if (estimate > thresholdBytes) {
    return { action: 'continue', reason: 'estimate-above-threshold', pendingBytes: estimate, thresholdBytes };
  }
  const hold = holdReason(inputs);
  if (hold !== undefined) return { action: 'hold', reason: hold, pendingBytes: inputs.exactPendingBytes ?? estimate, thresholdBytes };
  if (inputs.exactPendingBytes === undefined) {
    return { action: 'query-exact', stopVmFirst: inputs.exactRequiresStop === true, thresholdBytes };
  }
  const exact = inputs.exactPendingBytes;
  if (exact > thresholdBytes) {
    return { action: 'continue', reason: 'exact-above-threshold', pendingBytes: exact, thresholdBytes };
  }
  const expectedDowntimeMs = exact === 0 ? 0 : (exact / inputs.bandwidthBytesPerSecond) * 1000;
  return { action: 'switchover', pendingBytes: exact, thresholdBytes, expectedDowntimeMs };
}

function holdReason(inputs: SwitchoverInputs): HoldReason | undefined {
  if (inputs.gate !== undefined && !inputs.gate.mayStopVm) {
    return inputs.gate.state === 'never' ? 'switchover-ack-never' : 'awaiting-switchover-ack';
  }
  if (inputs.readiness !== undefined && !inputs.readiness.allReady) return 'device-initial-data';
  return undefined;
}
