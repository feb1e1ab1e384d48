/**
 * Driving a migration between VMs through QMP (QEMU-HARNESS.md, "QMP sequence"): capabilities and
 * parameters on both sides, `migrate-incoming` (reading back the real port), `migrate`, polling
 * `query-migrate`, and the hold that forces several RAM rounds. Also to and from files.
 */

import { existsSync, statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { MiB } from './guest.js';
import { Clock, QmpError } from './qmp.js';
import type { MigrateStatus, Vm } from './vm.js';

export interface HoldControl {
  /** Keep `params` on the source until ram.dirty-sync-count reaches this. */
  syncs: number;
  /** Parameters set on the source before `migrate` (forces several rounds). */
  params: Record<string, unknown>;
  /** Parameters set once the sync count is reached (lets it converge). */
  release: Record<string, unknown>;
  /** Also switch to postcopy (`migrate-start-postcopy`) at release. */
  startPostcopy?: boolean;
}

/** The non-convergence control from QEMU-HARNESS.md. */
export const DEFAULT_HOLD: HoldControl = {
  syncs: 2,
  params: { 'downtime-limit': 1, 'max-bandwidth': 32 * MiB },
  release: { 'downtime-limit': 2000, 'max-bandwidth': 128 * MiB },
};

/**
 * Two precopy rounds, then `migrate-start-postcopy` (8.2 and later). QEMU finishes in precopy
 * instead whenever what is left fits its downtime threshold (bandwidth x downtime-limit: ~32 KiB
 * at 32 MiB/s and 1 ms), and a guest starved of CPU on a busy machine can dirty less than that
 * (one run in about thirty ended without postcopy). `avail-switchover-bandwidth` (8.2+) replaces
 * the measured bandwidth: 1000 B/s is 1 byte per ms, a threshold of 1 byte, so precopy ends only
 * with no dirty page at all. Not 0 B/s: QEMU 10.0 then skips its exact dirty count at the end of
 * each round and completes at once (seen here); postcopy still starts, as RAM under postcopy-ram
 * is nothing that must go in precopy.
 */
export const POSTCOPY_HOLD: HoldControl = {
  syncs: 2,
  params: { ...DEFAULT_HOLD.params, 'avail-switchover-bandwidth': 1000 },
  release: { 'downtime-limit': 1, 'max-bandwidth': 32 * MiB },
  startPostcopy: true,
};

export interface TimelineEntry {
  t: number;
  event: string;
  [k: string]: unknown;
}

export interface SetupCall {
  side: 'src' | 'dst';
  command: string;
  arguments: Record<string, unknown>;
  ok: boolean;
  error: string | null;
}

export interface MigrationOptions {
  source?: Vm;
  destination?: Vm;
  /** Capabilities for both sides. */
  caps?: Record<string, boolean>;
  /** Parameters for both sides. */
  params?: Record<string, unknown>;
  srcParams?: Record<string, unknown>;
  dstParams?: Record<string, unknown>;
  /**
   * Source URI (`migrate`). `tcp` alone means: listen on the destination with
   * `tcp:127.0.0.1:0` and connect the source to the real port.
   */
  uri?: string;
  /** Destination URI (`migrate-incoming`). Default: the source URI (or tcp:127.0.0.1:0). */
  incomingUri?: string;
  /**
   * Put something between the two (a proxy): given the URI the destination listens on, return
   * the URI the source should connect to.
   */
  interpose?: (destinationUri: string) => Promise<string>;
  /** Non-convergence control; null to migrate as fast as QEMU likes. Default DEFAULT_HOLD. */
  hold?: HoldControl | null;
  /** Serial markers to wait for on the source before `migrate`. Default 200. */
  waitMarkers?: number;
  pollMs?: number;
  timeoutMs?: number;
  clock?: Clock;
}

export interface MigrationResult {
  /** completed | failed | rejected (a setup command was refused) */
  status: 'completed' | 'failed' | 'rejected';
  reason: string | null;
  src_status: string | null;
  dst_status: string | null;
  total_time_ms: number | null;
  downtime_ms: number | null;
  setup_time_ms: number | null;
  dirty_sync_count: number | null;
  ram_transferred: number | null;
  /** Wall time from `migrate` (or `migrate-incoming` for load-only) to the end, ms. */
  wall_ms: number;
  markers_before: number | null;
  src_final: MigrateStatus | null;
  dst_final: MigrateStatus | null;
  setup: SetupCall[];
  timeline: TimelineEntry[];
  uri: string | null;
  incoming_uri: string | null;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

function capsArg(caps: Record<string, boolean>): Record<string, unknown> {
  return { capabilities: Object.entries(caps).map(([capability, state]) => ({ capability, state })) };
}

/** Polling state of one side of a migration. */
interface SidePoll {
  vm: Vm;
  side: 'src' | 'dst';
  done: boolean;
  /** Last status seen. */
  last?: string;
}

/**
 * One `query-migrate` on one side: records the answer, a status change in the timeline, and the end
 * (a terminal status, or the process gone). Returns the answer, or null when there is none.
 */
async function pollSide(
  p: SidePoll,
  result: MigrationResult,
  ev: (event: string, extra?: Record<string, unknown>) => void,
): Promise<MigrateStatus | null> {
  const who = p.side === 'src' ? 'source' : 'destination';
  const end = (status: string): void => {
    p.done = true;
    if (p.side === 'src') result.src_status = status;
    else result.dst_status = status;
  };
  if (p.vm.exited) {
    end('exited');
    result.reason ??= `${who} QEMU exited: ${p.vm.output.trim()}`;
    return null;
  }
  const q = await p.vm.queryMigrate().catch(() => null);
  if (!q) return null;
  if (p.side === 'src') result.src_final = q;
  else result.dst_final = q;
  if (q.status !== p.last) {
    p.last = q.status;
    ev(`${p.side}-status`, { status: q.status, ...(p.side === 'src' ? { dirty_sync_count: q.ram?.['dirty-sync-count'] ?? 0 } : {}) });
  }
  if (q.status && TERMINAL.has(q.status)) {
    end(q.status);
    if (q.status !== 'completed') result.reason ??= `${who}: ${q['error-desc'] ?? q.status}`;
  }
  return q;
}

/** Quote for /bin/sh (exec: URIs). */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Generic migration driver. With a source: set caps/params (plus the hold params), wait for the
 * guest to run, `migrate`, poll `query-migrate` every pollMs, release the hold once
 * dirty-sync-count reaches hold.syncs. With a destination: set caps/params and `migrate-incoming`
 * first (tcp: the real port is read back), and poll it too. Returns when every side involved is
 * completed/failed (or its process died). QEMU refusing a setup command gives status `rejected`.
 */
export async function runMigration(o: MigrationOptions): Promise<MigrationResult> {
  const clock = o.clock ?? o.source?.qmp.clock ?? o.destination?.qmp.clock ?? new Clock();
  const pollMs = o.pollMs ?? 100;
  const timeoutMs = o.timeoutMs ?? 120_000;
  const hold = o.hold === undefined ? DEFAULT_HOLD : o.hold;
  const caps = o.caps ?? {};
  const setup: SetupCall[] = [];
  const timeline: TimelineEntry[] = [];
  const ev = (event: string, extra: Record<string, unknown> = {}) => timeline.push({ t: clock.now(), event, ...extra });
  const result: MigrationResult = {
    status: 'failed', reason: null, src_status: null, dst_status: null, total_time_ms: null,
    downtime_ms: null, setup_time_ms: null, dirty_sync_count: null, ram_transferred: null, wall_ms: 0,
    markers_before: null, src_final: null, dst_final: null, setup, timeline, uri: null, incoming_uri: null,
  };
  const call = async (vm: Vm, side: 'src' | 'dst', command: string, args: Record<string, unknown>) => {
    try {
      await vm.qmp.execute(command, args);
      setup.push({ side, command, arguments: args, ok: true, error: null });
      return true;
    } catch (e) {
      const msg = e instanceof QmpError ? `${e.errorClass}: ${e.desc}` : String(e);
      setup.push({ side, command, arguments: args, ok: false, error: msg });
      result.status = 'rejected';
      result.reason = `${side} ${command}: ${msg}`;
      return false;
    }
  };
  const configure = async (vm: Vm, side: 'src' | 'dst', params: Record<string, unknown>) => {
    if (Object.keys(caps).length > 0 && !(await call(vm, side, 'migrate-set-capabilities', capsArg(caps)))) return false;
    if (Object.keys(params).length > 0 && !(await call(vm, side, 'migrate-set-parameters', params))) return false;
    return true;
  };

  const src = o.source;
  const dst = o.destination;
  let srcUri = o.uri ?? null;
  const isTcp = srcUri === 'tcp' || (srcUri === null && dst !== undefined && o.incomingUri === undefined);

  // Destination first.
  if (dst) {
    if (!(await configure(dst, 'dst', { ...(o.params ?? {}), ...(o.dstParams ?? {}) }))) return result;
    const inUri = o.incomingUri ?? (isTcp ? 'tcp:127.0.0.1:0' : srcUri);
    if (!inUri) throw new Error('runMigration: destination without an incoming URI');
    result.incoming_uri = inUri;
    if (!(await call(dst, 'dst', 'migrate-incoming', { uri: inUri }))) return result;
    ev('migrate-incoming', { uri: inUri });
    if (isTcp) {
      const q = await dst.queryMigrate();
      const port = q['socket-address']?.[0]?.port;
      if (port === undefined) throw new Error(`destination reported no listening port: ${JSON.stringify(q)}`);
      srcUri = `tcp:127.0.0.1:${String(port)}`;
    }
    if (o.interpose && srcUri) srcUri = await o.interpose(srcUri);
  }
  let t0 = performance.now();
  if (src) {
    if (!srcUri || srcUri === 'tcp') throw new Error('runMigration: no source URI');
    result.uri = srcUri;
    const srcParams = { ...(o.params ?? {}), ...(o.srcParams ?? {}), ...(hold ? hold.params : {}) };
    if (!(await configure(src, 'src', srcParams))) return result;
    const want = o.waitMarkers ?? 200;
    if (want > 0) {
      result.markers_before = await src.waitForMarkers(want);
      ev('src-guest-running', { markers: result.markers_before });
    }
    t0 = performance.now();
    if (!(await call(src, 'src', 'migrate', { uri: srcUri }))) return result;
    ev('migrate', { uri: srcUri });
  } else {
    t0 = performance.now();
  }

  // Poll.
  const srcPoll: SidePoll | null = src ? { vm: src, side: 'src', done: false } : null;
  const dstPoll: SidePoll | null = dst ? { vm: dst, side: 'dst', done: false } : null;
  const pending = (): boolean => !(srcPoll?.done ?? true) || !(dstPoll?.done ?? true);
  let released = !hold;
  const deadline = Date.now() + timeoutMs;
  while (pending()) {
    if (Date.now() > deadline) {
      result.status = 'failed';
      result.reason = `timed out after ${timeoutMs} ms (src ${srcPoll?.last ?? '-'}, dst ${dstPoll?.last ?? '-'})`;
      break;
    }
    if (src && srcPoll && !srcPoll.done) {
      const q = await pollSide(srcPoll, result, ev);
      const sync = q?.ram?.['dirty-sync-count'] ?? 0;
      if (q && !released && hold && sync >= hold.syncs && q.status === 'active') {
        released = true;
        try {
          await src.qmp.execute('migrate-set-parameters', hold.release);
          ev('release', { dirty_sync_count: sync, params: hold.release });
          if (hold.startPostcopy) {
            await src.qmp.execute('migrate-start-postcopy', {});
            ev('migrate-start-postcopy', { dirty_sync_count: sync });
          }
        } catch (e) {
          ev('release-failed', { dirty_sync_count: sync, error: String(e) });
        }
      }
    }
    if (dstPoll && !dstPoll.done) await pollSide(dstPoll, result, ev);
    if (pending()) await delay(pollMs);
  }
  result.wall_ms = Math.round(performance.now() - t0);
  const okSrc = !src || result.src_status === 'completed';
  const okDst = !dst || result.dst_status === 'completed';
  result.status = okSrc && okDst ? 'completed' : 'failed';
  const f = result.src_final;
  if (f) {
    result.total_time_ms = f['total-time'] ?? null;
    result.downtime_ms = f.downtime ?? null;
    result.setup_time_ms = f['setup-time'] ?? null;
    result.dirty_sync_count = f.ram?.['dirty-sync-count'] ?? null;
    result.ram_transferred = f.ram?.transferred ?? null;
  }
  return result;
}

/** URIs for writing / reading a migration file. */
export function fileUris(kind: 'file' | 'exec', path: string): { write: string; read: string } {
  return kind === 'file'
    ? { write: `file:${path}`, read: `file:${path}` }
    : { write: `exec:cat > ${shellQuote(path)}`, read: `exec:cat ${shellQuote(path)}` };
}

/** Migrate the source to a file (`file:` on 10.0, or `exec:cat > PATH`). */
export function migrateToFile(
  o: Omit<MigrationOptions, 'destination' | 'uri' | 'incomingUri'> & { source: Vm; path: string; kind: 'file' | 'exec' },
): Promise<MigrationResult> {
  const { path, kind, ...rest } = o;
  return runMigration({ ...rest, uri: fileUris(kind, path).write });
}

/** Load a migration file into a destination started with `-incoming defer`. */
export function loadFromFile(
  o: Omit<MigrationOptions, 'source' | 'uri' | 'incomingUri' | 'hold' | 'waitMarkers'> & {
    destination: Vm;
    path: string;
    kind: 'file' | 'exec';
  },
): Promise<MigrationResult> {
  const { path, kind, ...rest } = o;
  if (!existsSync(path) || statSync(path).size === 0) {
    return Promise.reject(new Error(`migration file ${path} is missing or empty`));
  }
  return runMigration({ ...rest, incomingUri: fileUris(kind, path).read, hold: null, waitMarkers: 0 });
}
