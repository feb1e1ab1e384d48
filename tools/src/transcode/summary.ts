/** The human-readable summary of a transcode run: pages per channel, rounds, flushes, return path. */
import { multifdLayoutFamily } from '@migwire/stream-codec';
import { bytesHuman } from '../format/human.js';
import type { Progress, TranscodeReport } from './run.js';

export function progressLine(p: Progress): string {
  const read = p.read.map((c) => `${c.channel} ${bytesHuman(c.bytes)}`).join(', ');
  const written = p.written.map((c) => `${c.channel} ${bytesHuman(c.bytes)}`).join(', ');
  return `transcode: read ${read}; sent ${written}; round ${p.rounds}`;
}

export function summaryLines(r: TranscodeReport): string[] {
  const c = r.counts;
  const p = r.plan;
  const lines: string[] = [];
  const layout = p.channels === 0 ? 'main only' : `main + ${p.channels} multifd (${p.compression}, zero pages ${p.zeroPages === 'multifd' ? 'in packets' : 'on main'}, ${multifdLayoutFamily(p.layout).label} layout, flush ${p.flushMode})`;
  const from = r.recorded.channels === 0 ? 'main only' : `main + ${r.recorded.channels} multifd (${r.recorded.compression ?? 'no pages'}, ${r.recorded.layout ? multifdLayoutFamily(r.recorded.layout).label : '?'} layout)`;
  const preempt = c.postcopy.pagesOnPreempt > 0 || c.postcopy.preemptBytes > 0 ? ' + postcopy-preempt' : '';
  lines.push(`transcoded ${from} -> ${layout}${preempt} for QEMU ${p.qemu}${p.machine ? ` (${p.machine})` : ''}`);
  lines.push(`${'channel'.padEnd(12)} ${'pages'.padStart(9)} ${'zero'.padStart(9)} ${'other'.padStart(7)} ${'packets'.padStart(8)} ${'SYNC'.padStart(6)} ${'FLUSH'.padStart(6)} ${'bytes'.padStart(11)}`);
  lines.push(`${'main'.padEnd(12)} ${String(c.main.pages).padStart(9)} ${String(c.main.zeroPages).padStart(9)} ${String(c.main.otherPages).padStart(7)} ${'-'.padStart(8)} ${'-'.padStart(6)} ${String(c.main.flushes).padStart(6)} ${bytesHuman(c.main.bytes).padStart(11)}`);
  for (const m of c.multifd) {
    lines.push(`${m.channel.padEnd(12)} ${String(m.normalPages).padStart(9)} ${String(m.zeroPages).padStart(9)} ${'-'.padStart(7)} ${String(m.packets).padStart(8)} ${String(m.syncs).padStart(6)} ${'-'.padStart(6)} ${bytesHuman(m.bytes).padStart(11)}`);
  }
  const b = c.barriers;
  if (p.channels > 0) {
    const split = c.sectionsSplit ? ` (${c.sectionsSplit} RAM sections ended early for them)` : '';
    lines.push(`${c.rounds} rounds: barriers ${b.setup} at setup, ${b['section-end']} at RAM section ends, ${b['new-round']} for re-sent pages${split}, ${c.finalBarriers} before the last RAM section ends; ${c.main.flushes} MULTIFD_FLUSH on main`);
  }
  if (r.recorded.channels > 0) lines.push(`recording: ${r.recorded.barriers} barriers, ${c.recordedFlushesDropped} MULTIFD_FLUSH records ${p.channels ? 'replaced by the new placement' : 'dropped (no multifd on the output)'}`);
  const sentMain = c.main.pages + c.main.zeroPages + c.main.otherPages;
  const sentMultifd = c.multifd.reduce((n, m) => n + m.normalPages + m.zeroPages, 0);
  lines.push(`pages: recorded ${c.recordedPages.main} on main, ${c.recordedPages.multifd} in multifd packets; sent ${sentMain} on main, ${sentMultifd} in multifd packets`);
  if (b.postcopy > 0 || c.postcopy.pagesOnMain + c.postcopy.pagesOnPreempt > 0) {
    lines.push(`postcopy: ${b.postcopy ? 'multifd flushed and closed before the switch; ' : ''}${c.postcopy.pagesOnMain} pages on main${c.postcopy.pagesOnPreempt ? `, ${c.postcopy.pagesOnPreempt} on the preempt channel` : ''} after it`);
  }
  if (r.switchoverAck) {
    const a = r.switchoverAck;
    lines.push(`switchover-ack: ${a.mode} protocol (${a.because}); ${a.waited ? 'waited for the ACK' : 'no ACK owed before the switchover'}; ${a.acks} SWITCHOVER_ACK received`);
  }
  lines.push(`${c.passedThrough} records passed through (sections, device state, commands)`);
  if (r.returnPath) {
    const rp = r.returnPath;
    lines.push(`return path: ${rp.messages} messages, ${rp.pongs.length} PONG${rp.pongs.length ? ` (${rp.pongs.join(', ')})` : ''}, SHUT ${rp.shut ? `status ${rp.shut.status}` : 'not received'}${rp.other.length ? `, also ${rp.other.join(', ')}` : ''}${rp.error ? `; stopped: ${rp.error}` : ''}`);
  }
  lines.push(r.destinationClosed ? `the destination closed the stream after the end (${r.seconds.toFixed(2)} s)` : `the destination did not close the stream in time (${r.seconds.toFixed(2)} s)`);
  return lines;
}
