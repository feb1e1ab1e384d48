/**
 * Pass 1: reads a whole capture once, keeping per connection only its statistics, problems and
 * the first bytes of each direction, then names channels and groups them into migrations.
 */
import { IDENTIFY_BYTES, identifyChannel, MainResync, MultifdResync } from '@migwire/stream-codec';
import { type ByteSource, SeekableFile } from '../source.js';
import { type Side, type TcpConnection, type TcpEventOptions, tcpEvents } from '../tcp/connections.js';
import type { DirectionStats, StreamEvent } from '../tcp/events.js';
import { MAX_EXTENT_RUNS, StreamExtents } from './extents.js';
import { type ConnectionFacts, groupMigrations } from './group-migrations.js';
import type { CaptureIndex, CaptureProblem } from './types.js';

export interface IndexOptions extends Omit<TcpEventOptions, 'select'> {
  /** Problems kept per connection direction (default 100; counts stay exact in the stats). */
  maxProblems?: number;
  /**
   * Note where each direction's bytes lie in the file (CaptureIndex.extents), so they can be read
   * back by position: only for an uncompressed file, the one read by `source`.
   */
  extents?: boolean;
}

interface Collecting {
  info: TcpConnection;
  head: Record<Side, Uint8Array[]>;
  headBytes: Record<Side, number>;
  problems: ConnectionFacts['problems'];
  problemCount: Record<Side, number>;
  stats?: Record<Side, DirectionStats>;
  midStream?: Record<Side, boolean>;
  /** A SYN came before the first byte of this direction. */
  syn: Record<Side, boolean>;
  /** For a direction that starts mid-stream: the scan for a multifd packet boundary. */
  resync: Record<Side, MultifdResync | undefined>;
  /** For a direction that starts mid-stream with headerless bytes: the scan for a run of main-stream RAM records. */
  mainResync: Record<Side, MainResync | undefined>;
  extents: Record<Side, StreamExtents> | undefined;
}

/**
 * How far into a mid-stream direction a multifd packet header (a packet is at most ~0.5 MiB) or a
 * run of main-stream RAM records (a few pages) is looked for.
 */
const RESYNC_SCAN_BYTES = 4 << 20;

export async function indexCapture(source: ByteSource, options: IndexOptions = {}): Promise<CaptureIndex> {
  const maxProblems = options.maxProblems ?? 100;
  const conns: Collecting[] = [];
  const problems: CaptureProblem[] = [];
  let packets = 0;
  const runs = { count: 0 };
  // On a plain file whose positions are noted, in-order payloads past what naming needs stay unread.
  const file = options.extents && source instanceof SeekableFile ? source : undefined;
  const lazy: TcpEventOptions = file
    ? {
        reread: (pos, length) => file.readAt(pos, length),
        lazy: { wantBytes: (connection, side, offset) => wantsBytes(conns[connection]!, side, offset) },
      }
    : {};
  for await (const e of tcpEvents(source, { ...options, ...lazy })) {
    switch (e.kind) {
      case 'connection':
        conns.push({
          info: e.connection,
          head: { a: [], b: [] },
          headBytes: { a: 0, b: 0 },
          problems: [],
          problemCount: { a: 0, b: 0 },
          syn: { a: false, b: false },
          resync: { a: undefined, b: undefined },
          mainResync: { a: undefined, b: undefined },
          extents: options.extents ? { a: new StreamExtents(), b: new StreamExtents() } : undefined,
        });
        break;
      case 'stream': {
        const c = conns[e.connection]!;
        collect(c, e.from, e.event, maxProblems, runs);
        break;
      }
      case 'end':
        conns[e.connection]!.stats = { a: e.a, b: e.b };
        conns[e.connection]!.midStream = e.midStream;
        break;
      case 'notice':
        problems.push(e.notice);
        break;
      case 'summary':
        packets = e.packets;
        for (const [reason, count] of Object.entries(e.skipped)) {
          problems.push({ kind: 'skipped-packets', reason: reason as never, ...count });
        }
        break;
    }
  }
  const facts: ConnectionFacts[] = conns.map((c) => ({
    info: c.info,
    head: { a: Buffer.concat(c.head.a), b: Buffer.concat(c.head.b) },
    stats: c.stats!,
    midStream: c.midStream!,
    resyncAt: { a: c.resync.a?.found, b: c.resync.b?.found },
    mainResyncAt: { a: c.mainResync.a?.found, b: c.mainResync.b?.found },
    problems: c.problems,
  }));
  const { migrations, ignored, ignoredCount } = groupMigrations(facts);
  let missingBytes = 0;
  for (const m of migrations) {
    for (const c of m.connections) missingBytes += c.src2dst.missingBytes + c.dst2src.missingBytes;
  }
  const index: CaptureIndex = { migrations, ignored, ignoredCount, problems, packets, missingBytes };
  if (options.extents) {
    index.extents = new Map();
    for (const c of conns) for (const side of ['a', 'b'] as const) index.extents.set(`${c.info.index}${side}`, c.extents![side]);
  }
  return index;
}

/** Bytes naming still looks at: the head, and a mid-stream direction's scan for a boundary. */
function wantsBytes(c: Collecting, side: Side, offset: number): boolean {
  if (c.headBytes[side] < IDENTIFY_BYTES) return true;
  if (offset >= RESYNC_SCAN_BYTES) return false;
  const scan = c.resync[side];
  if (scan !== undefined && scan.found === undefined) return true;
  return c.mainResync[side] !== undefined && !c.mainResync[side].done;
}

function collect(c: Collecting, from: Side, event: StreamEvent, maxProblems: number, runs: { count: number }): void {
  if (event.kind === 'syn') c.syn[from] = true;
  const ext = c.extents?.[from];
  if (ext && event.kind === 'hole') ext.hole ??= { offset: event.offset, length: event.length, reason: event.reason };
  if (event.kind === 'data') {
    if (ext) {
      if (runs.count >= MAX_EXTENT_RUNS) ext.drop();
      runs.count += ext.add(event.filePos, event.bytes.length, event.time);
    }
    if (event.offset === 0 && !c.syn[from]) {
      c.resync[from] = new MultifdResync();
      c.mainResync[from] = new MainResync({ maxScanBytes: RESYNC_SCAN_BYTES });
    }
    const scan = c.resync[from];
    if (scan && scan.found === undefined && event.offset < RESYNC_SCAN_BYTES) scan.push(event.offset, event.bytes);
    if (c.headBytes[from] < IDENTIFY_BYTES && event.offset === c.headBytes[from]) {
      const take = event.bytes.subarray(0, IDENTIFY_BYTES - c.headBytes[from]);
      c.head[from].push(take.slice());
      c.headBytes[from] += take.length;
      if (c.headBytes[from] >= IDENTIFY_BYTES && !headerless(c.head[from])) c.mainResync[from] = undefined;
    }
    // A multifd packet found settles the role: a main stream is not looked for any more.
    if (scan?.found !== undefined) c.mainResync[from] = undefined;
    const main = c.mainResync[from];
    if (main && !main.done && event.offset < RESYNC_SCAN_BYTES) main.push(event.offset, event.bytes);
    return;
  }
  if (event.kind === 'hole' || event.kind === 'conflict' || event.kind === 'before-start') {
    if (event.kind === 'hole' && c.headBytes[from] === event.offset) c.headBytes[from] = Infinity; // head ends at a hole
    if (c.problemCount[from]++ >= maxProblems) return;
    c.problems.push({ side: from, event });
  }
}

/** First bytes that open no channel by themselves (not QEVM, multifd or TLS): a main stream may have been cut there. */
function headerless(head: Uint8Array[]): boolean {
  const role = identifyChannel(Buffer.concat(head), { ended: true })!.role;
  return role === 'other' || role === 'postcopy-preempt';
}
