/**
 * `migwire replay`: send a recorded migration into a destination QEMU that is listening
 * (`migrate-incoming`), and report what happened: per connection bytes sent and received, the
 * return path compared with the recording, and with --qmp QEMU's verdict and error.
 */
import { openCapture } from '@migwire/capture';
import type { Output } from '../cli-io.js';
import { bytesHuman, printable } from '../format/human.js';
import { InputError } from '../input-error.js';
import { setupDestinationFromCapture } from '../replay/destination.js';
import { replayCapture } from '../replay/replay.js';
import { inferenceLines, replaySettings } from '../replay/settings.js';
import type { ReplayOptions, ReplayProgress, ReplayReport } from '../replay/types.js';

export interface ReplayCommandOptions extends Omit<ReplayOptions, 'onProgress' | 'target'> {
  /** Where the destination listens; with setup, where to make it listen (default 127.0.0.1:0). */
  target?: { host: string; port: number };
  /** Set the destination up over QMP (meta.json's settings, else those the capture shows) and start migrate-incoming first. */
  setup: boolean;
  json: boolean;
  quiet: boolean;
}

function progressLine(p: ReplayProgress): string {
  const parts = p.connections.map((c) => `${c.name} ${bytesHuman(c.sent)}${c.total ? `/${bytesHuman(c.total)}` : ''}${c.received ? ` (+${bytesHuman(c.received)} back)` : ''}`);
  return `migwire replay: ${p.t.toFixed(1)}s  ${parts.join('  ')}`;
}

/** The human report: one line per connection, the return path, QEMU's status, the failure. */
export function formatReplayReport(r: ReplayReport): string[] {
  const lines: string[] = [];
  lines.push(`replay ${r.capture} -> ${r.target} (timing ${r.timing}${r.timing === 'recorded' ? `, speed ${r.speed}` : ''}), ${r.duration.toFixed(2)} s`);
  if (r.settings) lines.push(...inferenceLines(r.settings));
  for (const c of r.connections) {
    const sent = `${c.bytesSent}/${c.bytesToSend} B sent${c.bytesStuck ? `, ${c.bytesStuck} B stuck` : ''}`;
    const back = `${c.bytesReceived} B back (recorded ${c.recordedBytesReceived})`;
    lines.push(`conn${String(c.id).padStart(2, '0')}  ${c.name.padEnd(18)} ${sent.padEnd(26)} ${back.padEnd(30)} ${c.end}${c.error ? `: ${c.error}` : ''}`);
    const rp = c.returnPath;
    if (rp && (rp.recordedMessages > 0 || rp.receivedMessages > 0)) {
      if (rp.same) lines.push(`      return path: the same ${rp.receivedMessages} messages as recorded`);
      else {
        lines.push(`      return path: ${rp.receivedMessages} messages, recorded ${rp.recordedMessages}`);
        const d = rp.firstDivergence;
        if (d) lines.push(`      first difference at message ${d.index}: recorded ${d.recorded ? `${d.recorded.text} @${d.recorded.offset}` : '(none)'}, received ${d.received ? `${d.received.text} @${d.received.offset}` : '(none)'}`);
        if (rp.receivedError) lines.push(`      received return path does not decode: ${rp.receivedError}`);
        if (rp.recordedError) lines.push(`      recorded return path does not decode: ${rp.recordedError}`);
      }
    }
  }
  const d = r.destination;
  if (d) {
    lines.push(`destination: ${d.status ?? 'unknown'} (${d.statuses.map((s) => `${s.status}@${s.t.toFixed(2)}s`).join(' -> ')})`);
    if (d.errorDesc) lines.push(`destination error: ${d.errorDesc}`);
    for (const e of d.events) if (e.event.startsWith('MIGRATION')) lines.push(`  event ${e.event} ${e.data ? JSON.stringify(e.data) : ''} @${e.t.toFixed(2)}s`);
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (r.failure) {
    lines.push(`FAILED: ${r.reason ?? r.failure.reason}`);
    lines.push(`  first sign at ${r.failure.t.toFixed(3)} s: ${r.failure.reason}`);
    lines.push('  sent when it failed:');
    for (const s of r.failure.sentAt) lines.push(`    conn${String(s.id).padStart(2, '0')} ${s.name.padEnd(18)} byte offset ${s.sent} of ${s.total}`);
  }
  lines.push(r.ok ? `replay: ${r.outcome}` : `replay: failed: ${r.reason ?? 'unknown'}`);
  return lines;
}

export async function replay(path: string, o: ReplayCommandOptions, out: Output): Promise<number> {
  const { json, quiet, setup, target: given, ...opts } = o;
  let target = given;
  const capture = await openCapture(path, { migration: opts.migration });
  if (setup) {
    if (!opts.qmpSocket) throw new InputError('--setup needs --qmp SOCKET');
    if (capture.kind !== 'capture' && capture.kind !== 'pcap') throw new InputError(`--setup: ${path} has no meta.json saying how its destination was set up`);
    const settings = await replaySettings(capture);
    target = await setupDestinationFromCapture(opts.qmpSocket, settings, given ?? { host: '127.0.0.1', port: 0 }).catch((e: Error) => {
      throw new InputError(`--setup: ${e.message}`);
    });
    if (!quiet) out.err(`migwire replay: destination set up (caps ${JSON.stringify(settings.caps)}, params ${JSON.stringify(settings.params)}), listening on ${target.host}:${target.port}`);
  }
  if (!target) throw new InputError('replay needs --target HOST:PORT (or --setup with --qmp)');
  const report = await replayCapture(capture, { ...opts, target, ...(quiet ? {} : { onProgress: (p: ReplayProgress) => out.err(progressLine(p)) }) });
  if (json) out.line(JSON.stringify(report));
  else for (const l of formatReplayReport(report)) out.line(l);
  // The report is on stdout; the reason it failed is also the error line every command gives.
  if (!report.ok) out.err(printable(`migwire: replay failed: ${report.reason ?? report.failure?.reason ?? 'unknown'}`));
  return report.ok ? 0 : 1;
}
