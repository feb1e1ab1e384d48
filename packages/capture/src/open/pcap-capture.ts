/**
 * A tcpdump/Wireshark capture (pcap or pcapng, optionally gzipped) as a Capture: one migration in
 * it, each TCP direction a channel, arrival times from the packet timestamps. A plain file's
 * channels are read by position (pass 1 noted where their bytes lie); a gzipped one's are
 * reassembled again, all of them in one shared pass with openAll. Missing bytes end a channel with
 * a StreamHoleError.
 */
import { type ChannelRole, isEncryptedRole } from '@migwire/stream-codec';
import {
  type CaptureIndex as PcapIndex,
  type ChannelConnection,
  fileSource,
  indexCapture,
  type Migration,
  type OpenSource,
  PcapFormatError,
  readDirection,
  readExtents,
  streamExtents,
  type StreamExtents,
  type SkippedBytes,
  directionSide,
  tcpEvents,
} from '@migwire/pcap';
import { ArrivalTimes } from '../chunks/arrival-times.js';
import { CaptureError, CaptureSelectionError, StreamHoleError } from '../errors.js';
import { connectionLabel, DIRECTIONS, type Direction } from '../naming.js';
import { channelName, disambiguateNames, reverseRole } from './channel-name.js';
import type { Capture, CaptureChannel } from './open-capture.js';
import { describeMigration } from './describe-migration.js';
import { fanOut } from './pcap-fanout.js';
import { isGzipFile, skipBytes } from './byte-source.js';

/** What a Capture opened from a packet capture carries besides its channels. */
export interface PcapSelection {
  /** Pass 1 over the whole file: every migration, ignored connections, file problems. */
  index: PcapIndex;
  /** The migration the channels come from; connection N of the Capture is `migration.connections[N]`. */
  migration: Migration;
  /** Re-opens the file (gunzipped) for another pass. */
  source: OpenSource;
}


/** One line per migration, for choosing among them. */

function pickMigration(path: string, index: PcapIndex, wanted: number | undefined): Migration {
  const list = index.migrations.map(describeMigration).join('\n  ');
  if (wanted !== undefined) {
    const m = index.migrations.find((x) => x.id === wanted);
    if (!m) throw new CaptureSelectionError(`${path}: no migration ${wanted}; the capture holds:\n  ${list || '(none)'}`, path);
    return m;
  }
  if (index.migrations.length === 1) return index.migrations[0]!;
  if (index.migrations.length === 0) {
    throw new CaptureError(`${path}: no QEMU migration found among ${index.ignoredCount} TCP connections (${index.packets} packets)`, path);
  }
  throw new CaptureSelectionError(`${path}: ${index.migrations.length} migrations; choose one with --migration N:\n  ${list}`, path);
}

/** Human-readable facts a reader must not miss: streams started mid-way, holes, conflicts, ignored traffic. */
function notices(index: PcapIndex, m: Migration): string[] {
  const out: string[] = [];
  m.connections.forEach((c, conn) => {
    for (const d of DIRECTIONS) {
      const s = c[d];
      const label = connectionLabel(conn, d);
      if (s.midStream && s.packets > 0) out.push(`${label}: its SYN was not captured; ${midStreamNote(c, d)}`);
      if (s.missingBytes) out.push(`${label}: ${s.missingBytes} bytes missing in ${s.holes} hole(s); reading stops at the first`);
      if (s.conflicts) out.push(`${label}: ${s.conflicts} retransmission(s) with different bytes (first copy kept)`);
      if (s.ignoredResets) out.push(`${label}: ${s.ignoredResets} RST(s) with a sequence number far outside the stream ignored (as a receiving TCP stack would)`);
      if (s.bytesAfterClose) out.push(`${label}: ${s.bytesAfterClose} bytes captured after the connection was reset or closed were not read (the stream ends where the connection did)`);
    }
    for (const p of c.problems) {
      if (p.kind === 'open-at-end') out.push(`${connectionLabel(conn, p.direction)}: the capture ended before the stream did (no FIN after offset ${p.offset}): its end may be missing`);
    }
    if (isEncryptedRole(c.role)) out.push(`${connectionLabel(conn, 'src2dst')}: TLS-encrypted, cannot be decoded`);
  });
  if (index.ignoredCount) out.push(`${index.ignoredCount} TCP connection(s) outside the migration ignored`);
  const others = index.migrations.filter((x) => x.id !== m.id);
  if (others.length) out.push(`${others.length} other migration(s) in the file (--migration N): ${others.map((x) => x.id).join(', ')}`);
  const unknown = new Map<string, { count: number; at: number }>();
  for (const p of index.problems) {
    if (p.kind === 'skipped-packets') out.push(`${p.packets} packet(s) skipped: ${p.reason}`);
    else if (p.kind === 'truncated-file') out.push(`the capture file is cut short at byte ${p.fileOffset} (${p.message}): nothing after it was read`);
    else {
      const what = p.kind === 'unknown-block' ? 'pcapng block(s) of unknown type' : 'packet(s) naming no described interface';
      const u = unknown.get(what) ?? { count: 0, at: p.fileOffset };
      u.count++;
      unknown.set(what, u);
    }
  }
  for (const [what, u] of unknown) out.push(`${u.count} ${what} skipped, the first at byte ${u.at}`);
  return out;
}

function readFailure(path: string, e: unknown): Error {
  if (e instanceof CaptureError || e instanceof StreamHoleError) return e;
  return new CaptureError(`${path}: ${(e as Error).message}`, path, { cause: e });
}

function holeError(path: string, c: ChannelConnection, ch: CaptureChannel) {
  return (offset: number, length: number, reason: 'lost' | 'snaplen'): StreamHoleError =>
    new StreamHoleError(path, ch.name, ch.conn, ch.direction, offset, length, reason, c[ch.direction].missingBytes);
}

/** One channel alone: a pass over the file reassembling just its connection. */
function midStreamNote(c: ChannelConnection, d: Direction): string {
  const at = c[d].resyncOffset;
  if (at !== undefined && c.role === 'main') {
    return `decoding starts at the first RAM record found, ${at} bytes in (the stream's header, section table and block names were not captured: rules that need them are not checked; offsets count from there)`;
  }
  if (at !== undefined) return `decoding starts at the first multifd packet found, ${at} bytes in (no init message; offsets count from there)`;
  if (d === 'dst2src' || isEncryptedRole(c.role)) return 'the stream starts mid-way (offsets count from the first captured byte)';
  if (c.role === 'main' || c.role === 'multifd') return `its first captured bytes open the ${c.role} channel: read as the whole stream`;
  return 'the stream starts mid-way and no record boundary was found in it (a multifd packet header, or a run of main-stream RAM records), so it is not decoded';
}

/** One channel alone: read by position when pass 1 noted where its bytes lie, else a pass over the file reassembling just its connection. */
async function* channelBytes(path: string, source: OpenSource, c: ChannelConnection, ch: CaptureChannel, extents: StreamExtents | undefined): AsyncGenerator<Uint8Array> {
  const hole = holeError(path, c, ch);
  try {
    if (extents) {
      yield* readExtents(path, extents);
      if (extents.hole) throw hole(extents.hole.offset, extents.hole.length, extents.hole.reason);
      return;
    }
    for await (const e of readDirection(source(), c, ch.direction)) {
      if (e.kind === 'data') yield e.bytes;
      else if (e.kind === 'hole') throw hole(e.offset, e.length, e.reason);
    }
  } catch (e) {
    throw readFailure(path, e);
  }
}

/** channelBytes by position, leaving unread what the consumer passes over (readExtents' `skippable`). */
async function* skippingBytes(path: string, c: ChannelConnection, ch: CaptureChannel, extents: StreamExtents, skippable: () => number): AsyncGenerator<Uint8Array | SkippedBytes> {
  try {
    yield* readExtents(path, extents, skippable);
  } catch (e) {
    throw readFailure(path, e);
  }
  if (extents.hole) throw holeError(path, c, ch)(extents.hole.offset, extents.hole.length, extents.hole.reason);
}

/**
 * Arrival time of every captured byte of the migration, seconds since its first packet; undefined
 * when packets carry no timestamps (pcapng Simple Packet Blocks).
 */
async function arrivalTimes(source: OpenSource, index: PcapIndex, m: Migration): Promise<ArrivalTimes | undefined> {
  if (!Number.isFinite(m.start)) return undefined;
  const times = new ArrivalTimes();
  // Times are added per captured byte; a channel whose decoding starts further in counts from there.
  m.connections.forEach((c, conn) =>
    DIRECTIONS.forEach((d) => {
      const skipped = c[d].resyncOffset;
      if (skipped) times.setOrigin(conn, d, skipped);
    }),
  );
  const noted = m.connections.flatMap((c) => DIRECTIONS.map((d) => streamExtents(index, c, d)));
  if (noted.every((e) => e)) {
    // Pass 1 noted every run with its packet time: no need to read the file again.
    m.connections.forEach((_c, conn) =>
      DIRECTIONS.forEach((d, k) => {
        for (const r of noted[conn * 2 + k]!.timedRuns()) times.add(conn, d, r.offset, r.time - m.start);
      }),
    );
    return times;
  }
  const conns = new Map(m.connections.map((c, conn) => [c.index, { c, conn }]));
  for await (const e of tcpEvents(source(), { select: (i) => conns.has(i) })) {
    if (e.kind !== 'stream' || e.event.kind !== 'data') continue;
    const hit = conns.get(e.connection);
    if (hit) times.add(hit.conn, e.from === hit.c.srcSide ? 'src2dst' : 'dst2src', e.event.offset, e.event.time - m.start);
  }
  return times;
}

/** Open one migration of a pcap/pcapng file (`migration`: its id; default the only one). */
export async function openPcapCapture(path: string, migration?: number): Promise<Capture> {
  const source = fileSource(path);
  let index: PcapIndex;
  try {
    index = await indexCapture(source(), { extents: !isGzipFile(path) });
  } catch (e) {
    if (e instanceof PcapFormatError) throw new CaptureError(`${path}: ${e.message}`, path, { cause: e });
    throw new CaptureError(`${path}: cannot read: ${(e as Error).message}`, path, { cause: e });
  }
  const m = pickMigration(path, index, migration);
  const channels: CaptureChannel[] = [];
  m.connections.forEach((c, conn) => {
    for (const direction of DIRECTIONS) {
      const bytes = c[direction].bytes;
      const role: ChannelRole = direction === 'src2dst' ? (bytes ? c.role : 'empty') : reverseRole(c.role, bytes);
      const multifdId = direction === 'src2dst' ? c.multifdId : undefined;
      const skipped = c[direction].resyncOffset;
      const extents = streamExtents(index, c, direction);
      const ch: CaptureChannel = {
        name: channelName(role, conn, direction, multifdId),
        role,
        conn,
        direction,
        size: bytes - (skipped ?? 0),
        open: () => (skipped ? skipBytes(channelBytes(path, source, c, ch, extents), skipped) : channelBytes(path, source, c, ch, extents)),
      };
      if (extents && skipped === undefined) ch.openSkipping = (skippable) => skippingBytes(path, c, ch, extents, skippable);
      if (multifdId !== undefined) ch.multifdId = multifdId;
      if (skipped !== undefined) ch.midStream = { skipped };
      channels.push(ch);
    }
  });
  disambiguateNames(channels);
  const connectionOf = (ch: CaptureChannel): ChannelConnection => m.connections[ch.conn]!;
  const openAll = (wanted: CaptureChannel[]): AsyncIterable<Uint8Array>[] => {
    // Channels read by position need no shared pass: each reads its own stretches of the file.
    if (wanted.every((ch) => streamExtents(index, connectionOf(ch), ch.direction))) return wanted.map((ch) => ch.open());
    const indexes = new Set(wanted.map((ch) => connectionOf(ch).index));
    const targets = wanted.map((ch) => ({ connection: connectionOf(ch).index, side: directionSide(connectionOf(ch), ch.direction), holeError: holeError(path, connectionOf(ch), ch), reread: () => ch.open() }));
    const streams = fanOut(tcpEvents(source(), { select: (i) => indexes.has(i) }), targets, (e) => readFailure(path, e));
    return streams.map((s, i) => (wanted[i]!.midStream ? skipBytes(s, wanted[i]!.midStream!.skipped) : s));
  };
  let times: Promise<ArrivalTimes | undefined> | undefined;
  return {
    kind: 'pcap',
    path,
    channels,
    notices: notices(index, m),
    pcap: { index, migration: m, source },
    openAll,
    arrivals: () => (times ??= arrivalTimes(source, index, m)),
  };
}
