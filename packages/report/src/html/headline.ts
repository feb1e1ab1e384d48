/** The headline in plain text: the first thing in the page, what <noscript> readers and `--json`-less scripts see. */
import type { CapabilitiesSeen, ReportAnalysis } from '../analysis/types.js';
import { sizeText } from '../analysis/units.js';

export function capabilitiesText(c: CapabilitiesSeen): string {
  const parts: string[] = [];
  if (c.multifd) parts.push(`multifd ${c.multifd}${c.multifdCompression && c.multifdCompression !== 'none' ? ` (${c.multifdCompression})` : ''}`);
  if (c.xbzrle) parts.push('xbzrle');
  if (c.legacyCompress) parts.push('compress (legacy)');
  if (c.postcopy) parts.push('postcopy');
  if (c.preempt) parts.push('postcopy-preempt');
  if (c.switchoverAck) parts.push('switchover-ack');
  if (c.returnPath) parts.push('return path');
  if (c.tls) parts.push('TLS');
  for (const k of c.configuration) parts.push(k);
  return parts.length ? parts.join(', ') : 'plain precopy';
}

export function verdictText(a: ReportAnalysis): string | undefined {
  if (!a.verdict) return undefined;
  const failed = a.verdict.rules.filter((r) => r.status === 'fail');
  return failed.length === 0 ? 'check: every rule holds' : `check: FAILED (${failed.map((r) => r.id).join(', ')})`;
}

/** One paragraph: release, machine, capabilities, duration, bytes, rounds, outcome, verdict. */
export function headlineText(a: ReportAnalysis): string {
  const h = a.headline;
  const sent = h.channels.filter((c) => c.direction === 'src2dst').reduce((s, c) => s + c.bytes, 0);
  const bits = [
    `QEMU ${h.release ?? '(release unknown)'}${h.machine ? `, machine ${h.machine}` : ''}`,
    capabilitiesText(h.capabilities),
    h.durationSeconds !== undefined ? `${h.durationSeconds.toFixed(3)} s` : 'no arrival timing (a file)',
    `${sizeText(sent)} sent on ${h.channels.filter((c) => c.direction === 'src2dst' && c.role !== 'empty').length} channel(s)`,
    `${a.rounds.length} round(s)`,
    h.completed ? 'stream complete' : 'stream did not end',
  ];
  const v = verdictText(a);
  if (v) bits.push(v);
  return `${bits.join(' · ')}. ${a.switchover.explanation}`;
}
