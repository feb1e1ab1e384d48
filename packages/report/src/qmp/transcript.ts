/**
 * A source-side QMP transcript (one `{"t","dir","msg"}` per line, what the recorder and the
 * fixtures keep): the downtime limit over time, the moment `migrate` was sent, capabilities set,
 * the release, and QEMU's last `query-migrate` answer.
 */
import { readFileSync, statSync } from 'node:fs';
import { CaptureError, requirePlainFile } from '@migwire/capture';

export interface QmpMigrateAnswer {
  t: number;
  status: string;
  downtimeMs?: number;
  totalTimeMs?: number;
  expectedDowntimeMs?: number;
  dirtySyncCount?: number;
  /** ram.mbps: QEMU's own bandwidth figure, megabits per second. */
  mbps?: number;
}

export interface QmpTranscript {
  /** downtime-limit (ms) values in time order, from migrate-set-parameters and query-migrate-parameters. */
  downtimeLimits: Array<{ t: number; ms: number }>;
  /** When `migrate` was sent (the anchor for aligning with the capture's clock). */
  migrateAt?: number;
  capabilities: Record<string, boolean>;
  release?: string;
  /** Every query-migrate answer, in order. */
  migrateAnswers: QmpMigrateAnswer[];
  /** downtime-limit values no QEMU would hold (a string, a negative or huge number): skipped, and said. */
  rejected: string[];
}

type Json = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
/** QEMU's largest downtime-limit: 2000 s (it refuses more). */
const MAX_DOWNTIME_MS = 2_000_000;
/** A downtime limit QEMU could hold (whole ms, 0..2000 s; it refuses others): anything else in a transcript is skipped. */
const downtimeMs = (v: unknown): number | undefined => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_DOWNTIME_MS ? (v as number) : undefined);
/** A JSON object, or undefined for anything else (null, arrays, scalars: a damaged line is skipped, not a crash). */
const obj = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined);

/** Parse a transcript's text; lines that are not JSON objects, and members of the wrong type, are skipped. */
export function parseQmpTranscript(text: string): QmpTranscript {
  const out: QmpTranscript = { downtimeLimits: [], capabilities: {}, migrateAnswers: [], rejected: [] };
  const limitOf = (v: unknown, where: string): number | undefined => {
    const ms = downtimeMs(v);
    if (ms === undefined && v !== undefined && out.rejected.length < 10) out.rejected.push(`${where}: downtime-limit ${JSON.stringify(v)} is not a limit QEMU holds (whole ms, 0 to ${MAX_DOWNTIME_MS}): skipped`);
    return ms;
  };
  const pending = new Map<unknown, string>(); // id -> command sent
  let n = 0;
  for (const line of text.split('\n')) {
    n++;
    if (!line.trim()) continue;
    let entry: Json | undefined;
    try {
      entry = obj(JSON.parse(line));
    } catch {
      continue;
    }
    if (!entry) continue;
    const t = num(entry['t']) ?? 0;
    const msg = obj(entry['msg']);
    if (!msg) continue;
    const execute = msg['execute'];
    if (typeof execute === 'string') {
      pending.set(msg['id'], execute);
      const args = obj(msg['arguments']) ?? {};
      if (execute === 'migrate') out.migrateAt ??= t;
      const limit = execute === 'migrate-set-parameters' ? limitOf(args['downtime-limit'], `line ${n}`) : undefined;
      if (limit !== undefined) out.downtimeLimits.push({ t, ms: limit });
      if (execute === 'migrate-set-capabilities' && Array.isArray(args['capabilities'])) {
        for (const c of args['capabilities'] as unknown[]) {
          const one = obj(c);
          if (one && typeof one['capability'] === 'string') out.capabilities[one['capability']] = one['state'] === true;
        }
      }
      continue;
    }
    const ret = obj(msg['return']);
    if (!ret) continue;
    const cmd = pending.get(msg['id']);
    const limit = cmd === 'query-migrate-parameters' ? limitOf(ret['downtime-limit'], `line ${n}`) : undefined;
    if (limit !== undefined) out.downtimeLimits.push({ t, ms: limit });
    if (cmd === 'query-version') {
      const q = obj(ret['qemu']);
      if (q) out.release = `${num(q['major'])}.${num(q['minor'])}`;
    }
    if (typeof ret['status'] === 'string' && (cmd === 'query-migrate' || cmd === undefined)) {
      const ram = obj(ret['ram']) ?? {};
      const a: QmpMigrateAnswer = { t, status: ret['status'] };
      const set = (k: keyof QmpMigrateAnswer, v: number | undefined): void => {
        if (v !== undefined) (a as unknown as Record<string, number>)[k] = v;
      };
      set('downtimeMs', num(ret['downtime']));
      set('totalTimeMs', num(ret['total-time']));
      set('expectedDowntimeMs', num(ret['expected-downtime']));
      set('dirtySyncCount', num(ram['dirty-sync-count']));
      set('mbps', num(ram['mbps']));
      out.migrateAnswers.push(a);
    }
  }
  out.downtimeLimits.sort((a, b) => a.t - b.t);
  return out;
}

/** A QMP transcript of one migration is kilobytes; far more is not one (or /dev/zero behind a link). */
export const MAX_QMP_TRANSCRIPT_BYTES = 256 << 20;

/** Reads a plain file only: a named pipe would block, a device never end (CaptureError naming the path). */
export function readQmpTranscript(path: string): QmpTranscript {
  requirePlainFile(path);
  const size = statSync(path).size;
  if (size > MAX_QMP_TRANSCRIPT_BYTES) throw new CaptureError(`${path}: ${size} bytes is too large for a QMP transcript (at most ${MAX_QMP_TRANSCRIPT_BYTES})`, path);
  return parseQmpTranscript(readFileSync(path, 'utf8'));
}

/** The downtime limit in force at transcript time `t` (the last one set or seen by then; the first one before any). */
export function downtimeLimitAt(q: QmpTranscript, t: number | undefined): number | undefined {
  if (q.downtimeLimits.length === 0) return undefined;
  if (t === undefined) return q.downtimeLimits[q.downtimeLimits.length - 1]!.ms;
  let v = q.downtimeLimits[0]!.ms;
  for (const d of q.downtimeLimits) if (d.t <= t) v = d.ms;
  return v;
}

/** When QEMU first reported `dirtySyncCount` dirty syncs (a query-migrate answer), for captures without their own clock. */
export function syncReportedAt(q: QmpTranscript, dirtySyncCount: number): number | undefined {
  return q.migrateAnswers.find((a) => (a.dirtySyncCount ?? 0) >= dirtySyncCount)?.t;
}
