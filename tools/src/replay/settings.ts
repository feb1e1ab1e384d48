/**
 * The destination settings a replay goes by: meta.json's when the capture has one (the recording's
 * own setup), else what the capture itself shows (inferDestinationSettings: a tcpdump capture, a
 * recording without meta.json), with what showed each setting and what could not be told.
 */
import type { Capture } from '@migwire/capture';
import { inferDestinationSettings, type DestinationInference } from '@migwire/sync';
import { destinationSettings } from './plan.js';

export interface ReplaySettings {
  caps: Record<string, boolean>;
  params: Record<string, unknown>;
  /** Present when the settings were inferred from the capture (no meta.json). */
  inference?: DestinationInference;
}

/** One look per opened capture (--setup and the replay ask the same). */
const seen = new WeakMap<Capture, Promise<ReplaySettings>>();

export function replaySettings(capture: Capture): Promise<ReplaySettings> {
  let p = seen.get(capture);
  if (!p) seen.set(capture, (p = settingsOf(capture)));
  return p;
}

async function settingsOf(capture: Capture): Promise<ReplaySettings> {
  const recorded = capture.kind === 'capture' ? destinationSettings(capture.path) : null;
  if (recorded) return recorded;
  // A lone stream file or stdin: a destination loads it with its defaults, as before.
  if (capture.kind !== 'capture' && capture.kind !== 'pcap') return { caps: {}, params: {} };
  const inference = await inferDestinationSettings(capture);
  return { caps: inference.caps, params: inference.params, inference };
}

/** Lines saying which settings were inferred and from what, and what the capture cannot tell. */
export function inferenceLines(i: Pick<DestinationInference, 'inferred' | 'unknown'>): string[] {
  const lines = ['settings inferred from the capture (it has no meta.json):'];
  if (i.inferred.length === 0) lines.push('  none needed: default capabilities and parameters');
  for (const s of i.inferred) lines.push(`  ${s.setting}=${String(s.value)}: ${s.from}`);
  for (const u of i.unknown) lines.push(`  ${u.setting}: not inferred: ${u.why}`);
  return lines;
}
