/**
 * `migwire check --roundtrip`: decode every channel to the end, re-encode
 * every record, and compare with the bytes that came in, as they stream.
 */
import {
  encodeMainRecordParts,
  encodeMultifdRecordParts,
  encodeReturnPathRecord,
  type CodecRecord,
  type MainRecord,
  type MultifdRecord,
  type ReturnPathRecord,
} from '@migwire/stream-codec';
import { ChunkQueue } from '@migwire/stream-codec/internal';
import { checkCapture } from '@migwire/sync';
import { decodeCapture, openCapture, type CaptureChannel } from '@migwire/capture';
import { bytesHuman } from '../format/human.js';
import type { Output } from '../cli-io.js';
import { nothingDecoded } from '@migwire/capture';

export interface RoundTripChannelReport {
  channel: string;
  role: string;
  bytes: number;
  records: number;
  ok: boolean;
  /** First offset where re-encoded bytes differ from the input. */
  firstDifference?: number;
  decodeError?: ReturnType<import('@migwire/stream-codec').CodecError['toJSON']>;
  skipped?: string;
}

function encodeParts(r: CodecRecord): Uint8Array[] {
  if (r.kind.startsWith('rp-')) return [encodeReturnPathRecord(r as ReturnPathRecord)];
  if (r.kind.startsWith('multifd-')) return encodeMultifdRecordParts(r as MultifdRecord);
  return encodeMainRecordParts(r as MainRecord);
}

export async function checkRoundTrip(path: string, json: boolean, out: Output, migration?: number): Promise<number> {
  const input = await openCapture(path, { migration });
  const originals = new Map<string, ChunkQueue>();
  const diffs = new Map<string, number>();
  const reports: RoundTripChannelReport[] = [];
  const results = await decodeCapture(input, {
    // The queue of input bytes drops each record's bytes as soon as they are matched: all it
    // holds after a chunk is decoded is what the decoder has not consumed either.
    transientViews: true,
    onChunk: (ch: CaptureChannel, chunk: Uint8Array) => {
      let q = originals.get(ch.name);
      if (!q) originals.set(ch.name, (q = new ChunkQueue()));
      q.push(chunk);
    },
    onRecord: (ch: CaptureChannel, r: CodecRecord) => {
      const q = originals.get(ch.name)!;
      if (diffs.has(ch.name)) return;
      let at = 0;
      for (const part of encodeParts(r)) {
        if (part.length > q.length - at || !q.equalsAt(at, part)) {
          const orig = q.peek(at, Math.min(part.length, q.length - at));
          let i = 0;
          while (i < orig.length && orig[i] === part[i]) i++;
          diffs.set(ch.name, q.offset + at + i);
          return;
        }
        at += part.length;
      }
      if (at !== r.length) {
        diffs.set(ch.name, q.offset + Math.min(at, r.length));
        return;
      }
      q.skip(at);
    },
  });
  for (const res of results) {
    const name = res.channel.name;
    const rep: RoundTripChannelReport = { channel: name, role: res.channel.role, bytes: res.bytes, records: res.records, ok: false };
    const diff = diffs.get(name);
    const left = originals.get(name)?.length ?? 0;
    if (res.skipped) rep.skipped = res.skipped;
    if (res.error) rep.decodeError = res.error.toJSON();
    if (diff !== undefined) rep.firstDifference = diff;
    else if (!res.error && !res.skipped && left > 0) rep.firstDifference = res.bytes - left;
    rep.ok = !res.error && !res.skipped && rep.firstDifference === undefined;
    if (res.skipped && res.channel.role === 'empty') rep.ok = true;
    reports.push(rep);
  }
  const nothing = nothingDecoded(path, results);
  const ok = !nothing && reports.every((r) => r.ok || r.skipped !== undefined);
  const allDecoded = reports.every((r) => r.ok);
  if (json) {
    out.line(JSON.stringify({ kind: 'roundtrip', ok, channels: reports }));
  } else {
    for (const r of reports) {
      if (r.role === 'empty') continue;
      const status = r.ok ? 'ok' : r.skipped ? `skipped (${r.skipped})` : r.decodeError ? `DECODE ERROR ${r.decodeError.message}` : `DIFFERS at byte ${r.firstDifference}`;
      out.line(`${r.channel.padEnd(18)} ${r.role.padEnd(17)} ${bytesHuman(r.bytes).padStart(10)} ${String(r.records).padStart(8)} records  ${status}`);
    }
    out.line(ok ? (allDecoded ? 'round trip: every byte of every channel matches' : 'round trip: every decoded channel matches; some channels could not be decoded') : 'round trip: FAILED');
  }
  for (const r of results) if (r.error) out.err(`migwire: ${r.error.message}`);
  if (nothing) out.err(`migwire: ${nothing}`);
  return ok ? 0 : 1;
}

/** `migwire check PATH`: every protocol rule (@migwire/sync), a line each; exit 0 only when none fails. */
export async function checkProtocol(path: string, json: boolean, out: Output, migration?: number): Promise<number> {
  const capture = await openCapture(path, { migration });
  const rep = await checkCapture(capture);
  const nothing = rep.decodedChannels === 0 ? `${path}: nothing could be checked: no channel decodes (every one TLS-encrypted or empty)` : undefined;
  if (json) {
    // The JSON shape scripts read: each rule's id under "rule".
    out.line(JSON.stringify({ kind: 'check', ...rep, rules: rep.rules.map(({ id, ...r }) => ({ rule: id, ...r })), ...(nothing ? { ok: false, nothingChecked: nothing } : {}) }));
    if (nothing) out.err(`migwire: ${nothing}`);
    return rep.ok && !nothing ? 0 : 1;
  }
  for (const r of rep.rules) {
    const where = r.channel ? ` [${r.channel}${r.offset !== undefined ? ` @ byte ${r.offset}` : ''}]` : '';
    out.line(`${r.status.toUpperCase().padEnd(4)} ${r.id.padEnd(26)} ${r.detail}${where}`);
  }
  // Rounds count from the stream's start: not printed when round-order could not be checked.
  if (rep.rounds.length > 1 && !rep.notChecked.includes('round-order')) {
    const chans = [...new Set(rep.rounds.flatMap((r) => Object.keys(r.pages)))].sort();
    out.line('');
    out.line(`rounds (pages per channel; numbered by SYNC, rounds without pages left out):  ${chans.join(' | ')}`);
    for (const r of rep.rounds) out.line(`  round ${String(r.round).padStart(3)}: ${chans.map((c) => String(r.pages[c] ?? 0).padStart(6)).join(' | ')}`);
    out.line(`${rep.resentPages} pages were sent in more than one round`);
  }
  if (nothing) {
    out.line('check: NOTHING CHECKED');
    out.err(`migwire: ${nothing}`);
    return 1;
  }
  // Rules that needed a channel's start the capture missed were not checked: never "every rule holds" then.
  const unchecked = rep.notChecked.length ? `; ${rep.notChecked.length} not checked (the capture missed the start of a channel they need): ${rep.notChecked.join(', ')}` : '';
  out.line(rep.ok ? (unchecked ? `check: every rule checked holds${unchecked}` : 'check: every rule holds') : 'check: FAILED');
  return rep.ok ? 0 : 1;
}
