/**
 * Channel naming and migration grouping. A connection's source is the side that sent the SYN;
 * without one, the side whose first bytes open a migration channel, else the higher (ephemeral)
 * port. Connections opening main/multifd/TLS to the same destination with overlapping times form
 * one migration; other connections to that destination during it join it, and so does a
 * headerless one after its main closed (recovery); the rest is ignored. Roles within a migration
 * then follow arrival order (ArrivalOrder, the rule the live proxy uses).
 */
import { ArrivalOrder, type ChannelIdentity, type ChannelRole, identifyChannel, MULTIFD_INIT_SIZE } from '@migwire/stream-codec';
import type { Side, TcpConnection } from '../tcp/connections.js';
import type { DirectionStats, StreamEvent } from '../tcp/events.js';
import type { ChannelConnection, DirectionSummary, Migration, StreamProblem } from './types.js';

export interface ConnectionFacts {
  info: TcpConnection;
  head: Record<Side, Uint8Array>;
  stats: Record<Side, DirectionStats>;
  midStream: Record<Side, boolean>;
  /** Mid-stream directions: stream offset of the first multifd packet header found. */
  resyncAt: Record<Side, number | undefined>;
  /** Mid-stream directions with headerless first bytes: stream offset of the first run of main-stream RAM records found. */
  mainResyncAt: Record<Side, number | undefined>;
  problems: { side: Side; event: Extract<StreamEvent, { kind: 'hole' | 'conflict' | 'before-start' }> }[];
}

/** Roles that by themselves say "this is a migration channel". */
const OPENING_ROLES: ReadonlySet<ChannelRole> = new Set(['main', 'multifd', 'tls']);
const OPENS_MAIN: ReadonlySet<ChannelRole> = new Set(['main', 'tls']);

/** Ignored connections described one by one; past this many only their count is kept. */
export const MAX_IGNORED_DESCRIBED = 1000;

/**
 * Connections one migration may hold: main, up to 255 multifd channels (QEMU's limit), the preempt
 * and recovery channels, with room to spare. Past it a connection to the same destination is
 * ignored, so a flood of them costs no file or decoder per connection.
 */
export const MAX_MIGRATION_CONNECTIONS = 300;

export function groupMigrations(facts: ConnectionFacts[]): { migrations: Migration[]; ignored: ChannelConnection[]; ignoredCount: number } {
  const channels = facts.map(toChannel);
  const migrations: Migration[] = [];
  const byStart = [...channels].sort((x, y) => start(x) - start(y) || x.index - y.index);
  const full = new Set<ChannelConnection>();
  for (const c of byStart) {
    if (!OPENING_ROLES.has(c.role)) continue;
    const m = migrations.find((g) => sameEndpoint(g.destination, c.dst) && start(c) <= g.end);
    if (!m) migrations.push({ id: migrations.length, destination: c.dst, start: start(c), end: end(c), connections: [c] });
    else if (m.connections.length < MAX_MIGRATION_CONNECTIONS) add(m, c);
    else full.add(c);
  }
  const ignored: ChannelConnection[] = [];
  let ignoredCount = 0;
  for (const c of byStart) {
    if (OPENING_ROLES.has(c.role) && !full.has(c)) continue;
    const m =
      migrations.find((g) => sameEndpoint(g.destination, c.dst) && start(c) <= g.end && end(c) >= g.start) ??
      // After a migration's main closed, a headerless connection to its destination is main reconnecting.
      [...migrations].reverse().find((g) => sameEndpoint(g.destination, c.dst) && g.start <= start(c) && c.src2dst.bytes > 0 && g.connections.some((x) => OPENS_MAIN.has(x.role) && closedBefore(x, start(c))));
    if (m && m.connections.length < MAX_MIGRATION_CONNECTIONS && !full.has(c)) add(m, c);
    else if (ignoredCount++ < MAX_IGNORED_DESCRIBED) ignored.push(c);
  }
  for (const m of migrations) {
    m.connections.sort((x, y) => x.index - y.index);
    nameByArrival(m.connections);
  }
  return { migrations, ignored, ignoredCount };
}

/**
 * Roles within one migration by arrival order, as the destination names them: TLS connections
 * become main(tls) then multifd(tls), a headerless connection after main closed main-recovery,
 * the first other headerless one postcopy-preempt.
 */
function nameByArrival(connections: ChannelConnection[]): void {
  const order = new ArrivalOrder();
  const mains: ChannelConnection[] = [];
  for (const c of connections) {
    if (mains.some((m) => closedBefore(m, start(c)))) order.mainClosed();
    const first = c.role === 'empty' ? undefined : { role: c.role, ...(c.multifdId !== undefined ? { multifdId: c.multifdId } : {}) };
    let v = order.assign(c.index, first);
    if (v.problem?.kind === 'duplicate-main' && resumedMain(c)) {
      // RAM records alone do not say main: with a main already open, this is another headerless channel (postcopy-preempt).
      delete c.src2dst.resyncOffset;
      v = order.assign(c.index, { role: 'other' });
    }
    c.role = v.role;
    if (v.role === 'main' || v.role === 'main(tls)') mains.push(c);
  }
}

/** Did `c` end (FIN or RST either way) before `time`? */
function closedBefore(c: ChannelConnection, time: number): boolean {
  const ended = c.src2dst.finSeen || c.src2dst.rstSeen || c.dst2src.rstSeen;
  return ended && end(c) <= time;
}

function add(m: Migration, c: ChannelConnection): void {
  m.connections.push(c);
  m.start = Math.min(m.start, start(c));
  m.end = Math.max(m.end, end(c));
}

function toChannel(f: ConnectionFacts): ChannelConnection {
  const ida = identify(f, 'a');
  const idb = identify(f, 'b');
  let srcSide: Side = 'a';
  let orientation: ChannelConnection['orientation'] = 'syn';
  if (!f.info.synSeen) {
    const aOpens = OPENING_ROLES.has(ida.role);
    const bOpens = OPENING_ROLES.has(idb.role);
    if (aOpens !== bOpens) {
      orientation = 'first-bytes';
      srcSide = aOpens ? 'a' : 'b';
    } else {
      orientation = 'ports';
      srcSide = f.info.b.port > f.info.a.port ? 'b' : 'a';
    }
  }
  const dstSide: Side = srcSide === 'a' ? 'b' : 'a';
  const id: ChannelIdentity = srcSide === 'a' ? ida : idb;
  const direction = (side: Side) => (side === srcSide ? 'src2dst' : 'dst2src');
  const problems: StreamProblem[] = f.problems.map(({ side, event }) => ({ ...event, direction: direction(side) }));
  const reset = f.stats.a.rstSeen || f.stats.b.rstSeen;
  for (const side of [srcSide, dstSide]) {
    const s = f.stats[side];
    if (!s.finSeen && !reset && s.packets > 0) {
      problems.push({ kind: 'open-at-end', direction: direction(side), offset: s.bytes + s.missingBytes, time: s.lastTime });
    }
  }
  return {
    index: f.info.index,
    role: id.role,
    ...(id.multifdId !== undefined ? { multifdId: id.multifdId } : {}),
    src: f.info[srcSide],
    dst: f.info[dstSide],
    srcSide,
    orientation,
    src2dst: summary(f, srcSide),
    dst2src: summary(f, dstSide),
    problems,
  };
}

/** A main channel named from RAM records found mid-way (not from a QEVM header). */
function resumedMain(c: ChannelConnection): boolean {
  return c.role === 'main' && c.src2dst.midStream && c.src2dst.resyncOffset !== undefined;
}

/**
 * What a direction's first bytes open; one that starts mid-stream is multifd (its id unknown)
 * when a multifd packet header turns up in it, main when its bytes open no channel but a run of
 * RAM records turns up in them, else whatever its first bytes happen to look like.
 */
function identify(f: ConnectionFacts, side: Side): ChannelIdentity {
  const resumed = resumesAt(f, side);
  if (resumed) return { role: resumed.role };
  return identifyChannel(f.head[side], { ended: true })!;
}

/**
 * Where a mid-stream direction can be decoded from: its first multifd packet, unless that packet
 * follows an init message at offset 0 (only the SYN was missed: the stream is whole); else the
 * first RAM record of a main stream, for bytes that open no channel by themselves.
 */
function resumesAt(f: ConnectionFacts, side: Side): { role: 'multifd' | 'main'; at: number } | undefined {
  if (!f.midStream[side]) return undefined;
  const head = identifyChannel(f.head[side], { ended: true })!.role;
  const at = f.resyncAt[side];
  if (at !== undefined && !(at === MULTIFD_INIT_SIZE && head === 'multifd')) return { role: 'multifd', at };
  const main = f.mainResyncAt[side];
  if (main !== undefined && (head === 'other' || head === 'postcopy-preempt')) return { role: 'main', at: main };
  return undefined;
}

function summary(f: ConnectionFacts, side: Side): DirectionSummary {
  const at = resumesAt(f, side)?.at;
  return { ...f.stats[side], midStream: f.midStream[side], ...(at !== undefined ? { resyncOffset: at } : {}) };
}

function start(c: ChannelConnection): number {
  return Math.min(nz(c.src2dst.firstTime, Infinity), nz(c.dst2src.firstTime, Infinity));
}

function end(c: ChannelConnection): number {
  return Math.max(nz(c.src2dst.lastTime, -Infinity), nz(c.dst2src.lastTime, -Infinity));
}

function nz(v: number, fallback: number): number {
  return Number.isNaN(v) ? fallback : v;
}

function sameEndpoint(x: { address: string; port: number }, y: { address: string; port: number }): boolean {
  return x.address === y.address && x.port === y.port;
}
