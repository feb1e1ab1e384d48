/**
 * checkCapture(capture): every rule over a recording. Each channel is decoded once, main first
 * (decodeCapture), and every record goes to the stream facts and then to each rule, with its
 * arrival time from chunks.csv when the capture has one. Memory stays bounded: rules keep counts
 * and per-page typed arrays, never the records.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCapture, readCaptureMeta, type Capture, type CaptureChannel } from '@migwire/capture';
import { createRules } from './all-rules.js';
import { StreamFacts, type RecordedConfiguration } from './facts.js';
import { pageContentsMatter, type RoundSummary } from './round-order.js';
import type { RuleChannel, RuleResult } from './rule.js';

export interface CheckOptions {
  /** The recorded configuration; default: the capture's meta.json, when it has one. */
  config?: RecordedConfiguration;
}

export interface CheckReport {
  /** No rule failed (and `decodes` passed: something was checked). */
  ok: boolean;
  rules: RuleResult[];
  /** Pages per channel per round (multifd rounds, from the barriers). */
  rounds: RoundSummary[];
  /** Pages sent in more than one round. */
  resentPages: number;
  /** Channels that did not decode (also in the `decodes` rule). */
  decodeErrors: Array<{ channel: string; message: string }>;
  /** Channels a decoder read (to their end or to an error); 0: nothing could be checked. */
  decodedChannels: number;
  /** Rules not checked because the capture missed the start of a channel they need (status 'n/a'). */
  notChecked: RuleResult['id'][];
}

/**
 * The configuration a capture's meta.json records: `caps`, the switchover-ack-legacy property
 * from `properties` ({"switchover-ack-legacy": true}) or `globals` ({"migration.switchover-ack-legacy": "on"}),
 * and `params`' multifd-channels when multifd was on.
 */
export function recordedConfiguration(capture: Capture): RecordedConfiguration | undefined {
  if (capture.kind !== 'capture') return undefined;
  const meta = readCaptureMeta(capture.path);
  if (!meta) return undefined;
  const legacy = meta.properties?.['switchover-ack-legacy'] ?? meta.globals?.['migration.switchover-ack-legacy'];
  const flag = legacy === true || legacy === 'on' ? true : legacy === false || legacy === 'off' ? false : undefined;
  // readCaptureMeta holds multifd-channels to an integer QEMU takes (1..255).
  const channels = meta.params?.['multifd-channels'];
  const multifd = meta.caps?.['multifd'] === true && typeof channels === 'number' ? channels : undefined;
  return { ...(meta.caps ? { caps: meta.caps } : {}), ...(flag !== undefined ? { switchoverAckLegacy: flag } : {}), ...(multifd !== undefined ? { multifdChannels: multifd } : {}) };
}

/**
 * meta.json's multifd-channels held against the multifd channels a capture holds: why they
 * differ (a connection emptied or never recorded), or undefined. extract and transcode ask it;
 * check's multifd-channel-ids rule holds the init messages to the same number.
 */
export function multifdChannelShortfall(capture: Capture): string | undefined {
  const want = recordedConfiguration(capture)?.multifdChannels;
  const have = capture.channels.filter((c) => c.role === 'multifd').length;
  return want !== undefined && have !== want ? `meta.json records multifd-channels ${want}, the capture holds ${have} multifd channel${have === 1 ? '' : 's'}` : undefined;
}

/** A capture's channel as the rules see it. */
export const ruleChannel = (c: CaptureChannel): RuleChannel => ({
  name: c.name,
  role: c.role,
  conn: c.conn,
  ...(c.multifdId !== undefined ? { multifdId: c.multifdId } : {}),
  ...(c.midStream ? { midStream: c.midStream } : {}),
});

export async function checkCapture(capture: Capture, options: CheckOptions = {}): Promise<CheckReport> {
  const times = await capture.arrivals();
  const config = options.config ?? recordedConfiguration(capture);
  const facts = new StreamFacts({ ...(config ? { config } : {}), timed: times !== undefined });
  // round-order times main and multifd records: both source-to-destination.
  const arrival = (ch: RuleChannel, offset: number): number | undefined => times?.at(ch.conn, 'src2dst', offset);
  const set = createRules(facts, { live: false, arrival });
  const { rules, roundOrder } = set;
  const channels = new Map<CaptureChannel, RuleChannel>();
  for (const c of capture.channels) {
    const rc = ruleChannel(c);
    channels.set(c, rc);
    facts.addChannel(rc);
  }
  // A file the recorder did not write in full fails `decodes`, even where what it holds decodes.
  for (const s of capture.shortfalls ?? []) facts.problem(s.channel, s.message);
  const results = await decodeCapture(capture, {
    // Rules keep counts and typed arrays, never a record's bytes past onRecord.
    transientViews: true,
    skipPagePayloads: !pageContentsMatter(capture.channels),
    onRecord: (c, r) => {
      const ch = channels.get(c)!;
      const at = times?.at(c.conn, c.direction, r.offset);
      set.observe(ch, r, at);
    },
    onChannelEnd: (res) => {
      const ch = channels.get(res.channel)!;
      const end = { bytes: res.bytes, ...(res.error ? { error: res.error } : {}), ...(res.skipped ? { skipped: res.skipped } : {}) };
      for (const rule of rules) rule.channelEnded(ch, end);
    },
  });
  const ruleResults = rules.map((r) => r.result());
  const decodeErrors = [...results.filter((r) => r.error).map((r) => ({ channel: r.channel.name, message: r.error!.message })), ...facts.problems];
  return {
    ok: ruleResults.every((r) => r.status !== 'fail'),
    rules: ruleResults,
    rounds: roundOrder?.rounds() ?? [],
    resentPages: roundOrder?.resentPages() ?? 0,
    decodeErrors,
    decodedChannels: results.filter((r) => !r.skipped).length,
    notChecked: ruleResults.filter((r) => r.notChecked).map((r) => r.id),
  };
}
