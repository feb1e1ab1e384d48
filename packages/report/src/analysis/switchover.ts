/**
 * The switchover model of @migwire/sync replayed on the measured rounds: at the end of each round
 * (the dirty sync) the pending figure is what the next round had to send; the threshold is the
 * round's bandwidth times the downtime limit in force then. Compared with what QEMU did next.
 */
import { SwitchoverAckGate, decideSwitchover, type SwitchoverDecision } from '@migwire/sync';
import type { QmpTranscript } from '../qmp/transcript.js';
import { downtimeLimitAt } from '../qmp/transcript.js';
import type { Collected } from './collect.js';
import type { ModelAction, QemuAction, RoundStats, SwitchoverReplay, SwitchoverStep } from './types.js';
import { msText, rateText, sizeText } from './units.js';

/** QEMU's default downtime-limit, used when no transcript says otherwise. */
export const DEFAULT_DOWNTIME_LIMIT_MS = 300;

export interface ReplayContext {
  collected: Collected;
  rounds: RoundStats[];
  qmp?: QmpTranscript;
  /** Transcript time of the decision after the `step`-th round ending at `x` (undefined when unknown). */
  toQmpTime: (x: number | undefined, step: number) => number | undefined;
  /** Source bandwidth measured up to `x`, bytes/s (QEMU measures over its last 100 ms). */
  bandwidthAt?: (x: number) => number | undefined;
  /** Bandwidth for rounds without timing (whole-migration average), bytes/s. */
  fallbackBandwidth?: number;
  /** The capture missed main's start: rounds are counted from the first one captured. */
  startMissed?: boolean;
}

export function replaySwitchover(ctx: ReplayContext): SwitchoverReplay {
  const { collected: c, rounds, qmp } = ctx;
  const pageSize = c.pages.pageSize;
  const limitKnown = qmp !== undefined && qmp.downtimeLimits.length > 0;
  const postcopy = c.postcopyListen !== undefined;
  const last = rounds.length - 1;
  const steps: SwitchoverStep[] = [];
  const stepsEnd = postcopy ? last : last - 1;
  for (let k = 0; k <= stepsEnd; k++) {
    const r = rounds[k]!;
    const pendingBytes = k < last ? rounds[k + 1]!.pages * pageSize : (c.postcopyPages.main + c.postcopyPages.preempt) * pageSize;
    const downtimeLimitMs = (limitKnown ? downtimeLimitAt(qmp, ctx.toQmpTime(r.end, k)) : undefined) ?? DEFAULT_DOWNTIME_LIMIT_MS;
    const bandwidth = (r.end !== undefined ? ctx.bandwidthAt?.(r.end) : undefined) ?? r.bandwidth ?? ctx.fallbackBandwidth;
    const qemu: QemuAction = k < stepsEnd ? 'continue' : postcopy ? 'postcopy' : c.completed ? 'switchover' : 'unknown';
    const step: SwitchoverStep = { round: r.round, pendingBytes, downtimeLimitMs, decision: 'continue', path: '', qemu, agrees: false };
    if (bandwidth === undefined) {
      step.path = 'no bandwidth measured';
      steps.push(step);
      continue;
    }
    step.bandwidth = bandwidth;
    const gate = ackGate(c, r.end);
    const base = { pendingEstimateBytes: pendingBytes, bandwidthBytesPerSecond: bandwidth, downtimeLimitMs, ...(gate ? { gate } : {}) };
    const first = decideSwitchover(base);
    let final: SwitchoverDecision = first;
    // The estimate is under the threshold: QEMU syncs the bitmap for the exact figure, which is what the next round sent.
    if (first.action === 'query-exact') final = decideSwitchover({ ...base, exactPendingBytes: pendingBytes });
    step.thresholdBytes = first.thresholdBytes;
    step.decision = final.action as ModelAction;
    step.path = first === final ? first.action : `${first.action} → ${final.action}`;
    if (final.action === 'hold') step.holdReason = final.reason;
    const modelSwitches = final.action === 'switchover';
    step.agrees = qemu === 'unknown' ? false : qemu === 'switchover' ? modelSwitches : !modelSwitches;
    steps.push(step);
  }
  const out: SwitchoverReplay = {
    downtimeLimitMs: (limitKnown ? downtimeLimitAt(qmp, undefined) : undefined) ?? DEFAULT_DOWNTIME_LIMIT_MS,
    downtimeLimitSource: limitKnown ? 'qmp' : 'assumed',
    steps,
    explanation: '',
  };
  const final = qmp?.migrateAnswers.filter((a) => a.status !== 'active' && a.status !== 'setup').at(-1) ?? qmp?.migrateAnswers.at(-1);
  if (final) {
    const o: NonNullable<SwitchoverReplay['qemuOutcome']> = { status: final.status };
    if (final.downtimeMs !== undefined) o.downtimeMs = final.downtimeMs;
    if (final.totalTimeMs !== undefined) o.totalTimeMs = final.totalTimeMs;
    if (final.dirtySyncCount !== undefined) o.dirtySyncCount = final.dirtySyncCount;
    if (final.expectedDowntimeMs !== undefined) o.expectedDowntimeMs = final.expectedDowntimeMs;
    out.qemuOutcome = o;
  }
  out.explanation = explain(c, rounds, steps, out, ctx.startMissed === true);
  return out;
}

/** The switchover-ack gate as it stood at `x`: acked once SWITCHOVER_ACK had arrived. */
function ackGate(c: Collected, x: number | undefined) {
  if (!c.caps.switchoverAck) return undefined;
  const gate = new SwitchoverAckGate({ sourceEnabled: true, destinationEnabled: true, destinationDevices: [] });
  gate.returnPathOpened();
  if (c.switchoverAckAt !== undefined && x !== undefined && c.switchoverAckAt <= x) gate.ackReceived();
  return gate.status();
}

function thresholdText(s: SwitchoverStep): string {
  return `${sizeText(s.thresholdBytes ?? 0)} (${rateText(s.bandwidth ?? 0)} × ${msText(s.downtimeLimitMs)})`;
}

function explain(c: Collected, rounds: RoundStats[], steps: SwitchoverStep[], r: SwitchoverReplay, startMissed: boolean): string {
  const n = rounds.length;
  // A capture begun mid-migration counts only the rounds it saw: never "after N rounds" as if all.
  // Rounds are numbered by multifd SYNC, as `check` numbers them; where some SYNCs close a round
  // with no pages (10.0 syncs twice per pass), the count says so rather than clash with the numbers.
  const last = rounds[n - 1]?.round ?? n;
  const gaps = last !== n && !startMissed ? ` with pages (numbered by SYNC, 1 to ${last})` : '';
  const roundCount = (k: number): string => `${k} ${startMissed ? 'captured ' : ''}round${k === 1 ? '' : 's'}${gaps}`;
  const limit = r.downtimeLimitSource === 'assumed' ? ` (downtime limit not known: QEMU's default ${DEFAULT_DOWNTIME_LIMIT_MS} ms assumed)` : '';
  const lastDirty = [...rounds].reverse().find((x) => x.dirtyRate !== undefined && x.bandwidth !== undefined);
  const qemuStep = steps.findIndex((s) => s.qemu === 'switchover' || s.qemu === 'postcopy');
  const modelStep = steps.findIndex((s) => s.decision === 'switchover');
  if (c.postcopyListen !== undefined) {
    const s = steps[qemuStep];
    const pending = s ? `, with ${sizeText(s.pendingBytes)} still to send against a threshold of ${thresholdText(s)}` : '';
    const verdict = s && s.decision === 'switchover' ? ': precopy alone would have converged here' : s ? ': precopy had not converged' : '';
    return `Switched to postcopy after ${startMissed ? roundCount(n) + ' of precopy' : `${n} precopy round${n === 1 ? '' : 's'}${gaps}`}${pending}${verdict}${limit}.`;
  }
  if (!c.completed) {
    const why = lastDirty ? `: the guest dirtied ${rateText(lastDirty.dirtyRate!)} against ${rateText(lastDirty.bandwidth!)} of bandwidth` : '';
    return `Did not converge in this recording (${roundCount(n)}, no end of stream)${why}${limit}.`;
  }
  if (qemuStep < 0) {
    if (startMissed) return `Completed after ${roundCount(n)}: no dirty sync captured to replay the model on${limit}.`;
    return `Completed in a single pass (${n} round${n === 1 ? '' : 's'}): no dirty sync to replay the model on${limit}.`;
  }
  const s = steps[qemuStep]!;
  const base = `Converged after ${roundCount(n)}: after round ${s.round} the guest had left ${sizeText(s.pendingBytes)} to send against a threshold of ${thresholdText(s)}`;
  if (modelStep === qemuStep) return `${base}, so the model switches over there too, as QEMU did${limit}.`;
  if (modelStep >= 0 && modelStep < qemuStep) {
    const m = steps[modelStep]!;
    return `${base}. The model would already have switched over after round ${m.round} (${sizeText(m.pendingBytes)} ≤ ${thresholdText(m)}); QEMU went on${m.downtimeLimitMs !== s.downtimeLimitMs ? ' because the downtime limit was raised later' : ', its own bandwidth estimate differs from the measured one'}${limit}.`;
  }
  return `${base}: the model would not switch over yet (${s.holdReason ? `hold: ${s.holdReason}` : 'pending above the threshold'}); QEMU did, on its own bandwidth estimate${limit}.`;
}
