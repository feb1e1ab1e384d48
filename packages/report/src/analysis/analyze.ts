/** analyzeCapture(path): the whole analysis of one recorded migration, in one streaming pass. */
import { CaptureError, openCapture } from '@migwire/capture';
import { readQmpTranscript, syncReportedAt, type QmpTranscript } from '../qmp/transcript.js';
import { collect } from './collect.js';
import { postcopyStats } from './postcopy.js';
import { mainMidStream, midStreamNotices, withoutMissingStart } from './partial.js';
import { hotPages, roundStats } from './rounds.js';
import { replaySwitchover } from './switchover.js';
import { TimelineBuilder } from './timeline.js';
import type { ReportAnalysis, Verdict } from './types.js';

export interface AnalyzeOptions {
  /** A source-side QMP transcript (JSON lines `{"t","dir","msg"}`): downtime limit, QEMU's outcome. */
  qmpPath?: string;
  /** `migwire check`'s rule results, shown in the headline (the CLI runs the checker). */
  verdict?: Verdict;
  /** Bins on the throughput timeline (default 160). */
  bins?: number;
  /** Which migration of a pcap/pcapng holding several. */
  migration?: number;
}

const MiB = 1024 * 1024;
/** QEMU re-measures bandwidth about every 100 ms (BUFFER_DELAY). */
const QEMU_BANDWIDTH_WINDOW_S = 0.1;

export async function analyzeCapture(path: string, options: AnalyzeOptions = {}): Promise<ReportAnalysis> {
  const capture = await openCapture(path, { migration: options.migration });
  // Times that never move (every chunk at 0: packets without timestamps) are no clock: the
  // report then works in MiB of the stream, as for a stream file, instead of dividing by zero.
  const recorded = await capture.arrivals();
  const span = recorded?.span();
  const arrivals = recorded && span && span.last > span.first ? recorded : undefined;
  const qmp: QmpTranscript | undefined = options.qmpPath ? readQmpTranscript(options.qmpPath) : undefined;

  let timeline: TimelineBuilder;
  let t0 = 0;
  let t1 = 0;
  // Arrival times: chunks.csv of a recording, or a packet capture's packet timestamps.
  if (arrivals) {
    t0 = span!.first;
    t1 = span!.last;
    timeline = new TimelineBuilder('s', t0, t1, options.bins);
  } else {
    const main = capture.channels.find((c) => c.role === 'main');
    timeline = new TimelineBuilder('MiB', 0, (main?.size ?? MiB) / MiB, options.bins);
  }
  const unit = timeline.unit;
  const c = await collect(capture, arrivals, timeline);
  // A report of nothing would read as a migration that did not converge.
  if (!c.channels.some((ch) => ch.records > 0)) {
    const why = c.channels.filter((ch) => ch.error || ch.skipped).map((ch) => (ch.error ? ch.error.message : `${ch.name}: ${ch.skipped}`));
    throw new CaptureError(`${path}: nothing decodes as a migration stream (${why.join('; ') || 'no channels'})`, path);
  }
  const rounds = roundStats(c, unit);

  const finalAnswer = qmp?.migrateAnswers.at(-1);
  const fallbackBandwidth = unit === 'MiB' && finalAnswer?.mbps ? (finalAnswer.mbps * 1e6) / 8 : undefined;
  // With a clock, the first recorded byte is taken as the moment `migrate` was sent; without one,
  // the step after round k is when QEMU first reported the dirty sync that ended it (k + 2).
  const toQmpTime = (x: number | undefined, step: number): number | undefined => {
    if (!qmp) return undefined;
    if (unit === 's') return x !== undefined && qmp.migrateAt !== undefined ? x - t0 + qmp.migrateAt : undefined;
    return syncReportedAt(qmp, step + 2);
  };
  const bandwidthAt = (x: number): number | undefined => timeline.sentRateBefore(x, QEMU_BANDWIDTH_WINDOW_S);
  // A capture that missed main's start: what needs it is removed before anything is derived from it.
  const partial = mainMidStream(c.channels) !== undefined;
  const hot = hotPages(c);
  if (partial) withoutMissingStart(rounds, hot);
  const switchover = replaySwitchover({ collected: c, rounds, ...(qmp ? { qmp } : {}), toQmpTime, bandwidthAt, ...(fallbackBandwidth ? { fallbackBandwidth } : {}), ...(partial ? { startMissed: true } : {}) });
  for (const r of rounds) timeline.mark('round', r.end, `round ${r.round} ends: ${r.pages} pages${r.resentPages !== undefined ? ` (${r.resentPages} re-sent)` : ''}`);

  const release = /-(\d+\.\d+)$/.exec(c.machine ?? '')?.[1] ?? qmp?.release;
  const analysis: ReportAnalysis = {
    format: 'migwire-report/1',
    source: { path, kind: capture.kind, ...(options.qmpPath ? { qmp: options.qmpPath } : {}) },
    headline: {
      ...(release ? { release } : {}),
      ...(c.machine ? { machine: c.machine } : {}),
      capabilities: c.caps,
      channels: c.channels,
      ...(unit === 's' ? { durationSeconds: Math.round((t1 - t0) * 1e6) / 1e6 } : {}),
      pageSize: c.pages.pageSize,
      completed: c.completed,
    },
    timeline: timeline.build(),
    rounds,
    switchover,
    hotPages: hot,
    returnPath: { counts: c.rpCounts },
  };
  const pc = postcopyStats(c, unit);
  if (pc) analysis.postcopy = pc;
  if (options.verdict) analysis.verdict = options.verdict;
  const notices = [...midStreamNotices(c.channels), ...(qmp?.rejected ?? []).map((r) => `QMP transcript ${options.qmpPath}, ${r}`)];
  if (notices.length) analysis.notices = notices;
  return analysis;
}
