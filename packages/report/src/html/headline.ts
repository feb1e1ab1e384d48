/** The headline in plain text: the first thing in the page, what <noscript> readers and `--json`-less scripts see. */
import { mainMidStream } from '../analysis/partial.js';
import type { CapabilitiesSeen, ReportAnalysis } from '../analysis/types.js';
import { sizeText } from '../analysis/units.js';

/** `startMissed`: main was captured mid-stream, so what its start announces (configuration, POSTCOPY_ADVISE) is not known. */
export function capabilitiesText(c: CapabilitiesSeen, startMissed = false): string {
  const parts: string[] = [];
  if (c.multifd) parts.push(`multifd ${c.multifd}${c.multifdCompression && c.multifdCompression !== 'none' ? ` (${c.multifdCompression})` : ''}`);
  if (c.xbzrle) parts.push('xbzrle');
  if (c.legacyCompress) parts.push('compress (legacy)');
  if (c.postcopy) parts.push('postcopy');
  if (c.preempt) parts.push('postcopy-preempt');
  if (c.dirtyBitmaps) parts.push('dirty-bitmaps');
  if (c.switchoverAck) parts.push('switchover-ack');
  if (c.returnPath) parts.push('return path');
  if (c.tls) parts.push('TLS');
  for (const k of c.configuration) parts.push(k);
  if (startMissed) return parts.length ? `${parts.join(', ')}; those announced at the stream's start not known (not captured)` : "capabilities not known (announced at the stream's start, not captured)";
  return parts.length ? parts.join(', ') : 'plain precopy';
}

/** "stream complete (EOF)" unless the capture missed its start. */
export function streamText(a: ReportAnalysis): string {
  const main = mainMidStream(a.headline.channels);
  const end = a.headline.completed ? 'ended (EOF)' : 'did not end';
  return main ? `captured mid-stream from ${main.midStream!.skipped} bytes into its capture (start not captured), ${end}` : a.headline.completed ? 'complete (EOF)' : 'did not end';
}

export function verdictText(a: ReportAnalysis): string | undefined {
  if (!a.verdict) return undefined;
  const failed = a.verdict.rules.filter((r) => r.status === 'fail');
  if (failed.length) return `check: FAILED (${failed.map((r) => r.id).join(', ')})`;
  // As `check` says it: rules the capture could not check are never counted as holding.
  const notChecked = a.verdict.rules.filter((r) => r.notChecked);
  return notChecked.length ? `check: every rule checked holds; ${notChecked.length} not checked (the capture missed the start of a channel they need)` : 'check: every rule holds';
}

/** One paragraph: release, machine, capabilities, duration, bytes, rounds, outcome, verdict. */
export function headlineText(a: ReportAnalysis): string {
  const h = a.headline;
  const sent = h.channels.filter((c) => c.direction === 'src2dst').reduce((s, c) => s + c.bytes, 0);
  const bits = [
    `QEMU ${h.release ?? '(release unknown)'}${h.machine ? `, machine ${h.machine}` : ''}`,
    capabilitiesText(h.capabilities, mainMidStream(h.channels) !== undefined),
    h.durationSeconds !== undefined ? `${h.durationSeconds.toFixed(3)} s` : 'no arrival timing (a file)',
    `${sizeText(sent)} sent on ${h.channels.filter((c) => c.direction === 'src2dst' && c.role !== 'empty').length} channel(s)`,
    `${a.rounds.length} round(s)${mainMidStream(h.channels) ? ' captured' : ''}`,
    mainMidStream(h.channels) ? `main ${streamText(a)}` : h.completed ? 'stream complete' : 'stream did not end',
  ];
  const v = verdictText(a);
  if (v) bits.push(v);
  return `${bits.join(' · ')}. ${a.switchover.explanation}`;
}
