/**
 * `migwire import FILE --out DIR`: one migration of a tcpdump/Wireshark capture written as a
 * migwire capture directory (connNN.{src2dst,dst2src}.bin, chunks.csv with the packet times,
 * index.json), in one pass over the file. A direction with missing bytes is written up to its
 * first hole and the hole reported: a capture directory holds contiguous streams only.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHUNKS_FILE,
  ChunksWriter,
  connectionFileName,
  connectionLabel,
  DIRECTIONS,
  openCapture,
  openOutputFile,
  prepareOutputDir,
  roleRows,
  TCP_PROXY_FORMAT,
  writeCaptureIndex,
  type Direction,
  type DirectionStats,
  type TcpConnection,
  type TcpProxyIndex,
} from '@migwire/capture';
import { type ChannelConnection, type Migration, type OpenSource, RunReader, type StreamExtents, streamExtents, tcpEvents } from '@migwire/pcap';
import { isEncryptedRole } from '@migwire/stream-codec';
import { bytesHuman } from '../format/human.js';
import { InputError } from '../input-error.js';
import type { Output } from '../cli-io.js';

export interface ImportOptions {
  outDir: string;
  /** Which migration of a capture holding several. */
  migration?: number;
  /** Write into a folder that is not empty, replacing files of the same name (never through a link). */
  force?: boolean;
}

/** Where a direction stopped short: the first hole, with the bytes missing in it. */
export interface ImportHole {
  conn: number;
  direction: Direction;
  offset: number;
  length: number;
  reason: string;
}

export interface ImportReport {
  index: TcpProxyIndex;
  holes: ImportHole[];
  notices: string[];
  /** Payload bytes the capture holds after a connection of the migration was reset or closed: not written. */
  afterClose: number;
  /** The pcap file ends inside a packet: where, and how many of the migration's directions had not closed by then (their last bytes may be lost). */
  cutShort?: { fileOffset: number; openDirections: number };
}

/** One direction being written: its file, digest, first bytes and how far it got. */
class DirectionFile {
  readonly fd: number;
  readonly hash: Hash = createHash('sha256');
  head = Buffer.alloc(0);
  bytes = 0;
  chunks = 0;
  firstAt: number | null = null;
  lastAt: number | null = null;
  hole: ImportHole | undefined;

  constructor(readonly file: string, path: string, replace: boolean) {
    this.fd = openOutputFile(path, { replace });
  }

  write(bytes: Uint8Array, t: number): void {
    writeSync(this.fd, bytes);
    this.hash.update(bytes);
    if (this.head.length < 64) this.head = Buffer.concat([this.head, bytes.subarray(0, 64 - this.head.length)]);
    this.bytes += bytes.length;
    this.chunks++;
    this.firstAt ??= t;
    this.lastAt = t;
  }

  stats(): DirectionStats {
    closeSync(this.fd);
    return {
      file: this.file,
      bytes_received: this.bytes,
      bytes_written: this.bytes,
      bytes_sent: this.bytes,
      file_size: this.bytes,
      recorded_equals_forwarded: !this.hole,
      chunks: this.chunks,
      first_data_at: this.firstAt,
      ended_at: this.lastAt,
      end_reason: this.hole ? 'recv-error' : 'eof',
      recv_error: this.hole ? `${this.hole.length} bytes missing from the capture at offset ${this.hole.offset} (${this.hole.reason})` : null,
      send_error: null,
      sha256: this.hash.digest('hex'),
      head_hex: this.head.toString('hex'),
    };
  }
}

export async function runImport(path: string, o: ImportOptions): Promise<ImportReport> {
  const capture = await openCapture(path, { migration: o.migration });
  if (!capture.pcap) throw new InputError(`${path}: import reads tcpdump/Wireshark captures (.pcap, .pcapng, optionally .gz)`);
  const { migration: m, source } = capture.pcap;
  const replace = o.force === true;
  prepareOutputDir(o.outDir, { force: replace });
  const chunks = new ChunksWriter(join(o.outDir, CHUNKS_FILE), { replace });
  const files = m.connections.map((_c, conn) => {
    const f = {} as Record<Direction, DirectionFile>;
    for (const d of DIRECTIONS) f[d] = new DirectionFile(connectionFileName(conn, d), join(o.outDir, connectionFileName(conn, d)), replace);
    return f;
  });
  const readers = m.connections.flatMap((c) => DIRECTIONS.map((d) => streamExtents(capture.pcap!.index, c, d)));
  if (readers.every((e) => e)) {
    copyByPosition(path, m, readers as StreamExtents[], files, chunks);
  } else await copyByReassembly(source, m, files, chunks);
  await chunks.close();
  const connections: TcpConnection[] = m.connections.map((c, conn) => {
    const directions = { src2dst: files[conn]!.src2dst.stats(), dst2src: files[conn]!.dst2src.stats() };
    const times = DIRECTIONS.flatMap((d) => [c[d].firstTime, c[d].lastTime]).filter((x) => !Number.isNaN(x));
    return {
      id: conn,
      role: c.role,
      ...(c.multifdId !== undefined ? { multifdId: c.multifdId } : {}),
      accepted_at: times.length ? Math.min(...times) - m.start : null,
      target_connected_at: null,
      closed_at: times.length ? Math.max(...times) - m.start : null,
      forced_close: false,
      source_peer: `${c.src.address}:${c.src.port}`,
      target_local: null,
      directions,
    };
  });
  const holes = files.flatMap((f) => DIRECTIONS.map((d) => f[d].hole)).filter((h): h is ImportHole => h !== undefined);
  const index: TcpProxyIndex = {
    format: TCP_PROXY_FORMAT,
    transport: m.connections.some((c) => isEncryptedRole(c.role)) ? 'tls' : 'tcp',
    listen: null,
    target: `${m.destination.address}:${m.destination.port}`,
    clock: `seconds since the migration's first packet (pcap timestamps of ${path})`,
    proxy_start_unix: m.start,
    recorder: 'migwire import',
    connection_count: connections.length,
    connections,
    chunks_file: CHUNKS_FILE,
    chunk_count: chunks.count,
    all_recorded_equals_forwarded: holes.length === 0,
    status: 'complete',
    roles: roleRows(connections.map((c) => ({ id: c.id, role: c.role!, ...(c.multifdId !== undefined ? { multifdId: c.multifdId } : {}), directions: c.directions }))),
  };
  writeCaptureIndex(o.outDir, index);
  const cut = capture.pcap.index.problems.find((p) => p.kind === 'truncated-file');
  const closed = (c: ChannelConnection): boolean => c.src2dst.rstSeen || c.dst2src.rstSeen;
  const openDirections = m.connections.reduce((n, c) => n + DIRECTIONS.filter((d) => !c[d].finSeen && !closed(c)).length, 0);
  const afterClose = m.connections.reduce((n, c) => n + c.src2dst.bytesAfterClose + c.dst2src.bytesAfterClose, 0);
  const notices = [...(capture.notices ?? [])];
  if (chunks.untimed) notices.push(`${chunks.untimed} chunk(s) came in packets without a timestamp (pcapng Simple Packet Blocks): chunks.csv gives them time 0`);
  return { index, holes, notices, afterClose, ...(cut ? { cutShort: { fileOffset: cut.fileOffset, openDirections } } : {}) };
}

type Files = Record<Direction, DirectionFile>[];

/**
 * A plain file: pass 1 noted where every direction's bytes lie, so they are read by position,
 * all directions in file (packet) order so chunks.csv keeps capture order. Each stops at its
 * first hole, which is reported.
 */
function copyByPosition(path: string, m: Migration, extents: StreamExtents[], files: Files, chunks: ChunksWriter): void {
  const fd = openSync(path, 'r');
  try {
    const lanes = extents.map((e, k) => ({ reader: new RunReader(fd, e, path), conn: k >> 1, d: DIRECTIONS[k & 1]!, e }));
    for (;;) {
      let next: (typeof lanes)[number] | undefined;
      for (const l of lanes) if (l.reader.nextPos !== undefined && (!next || l.reader.nextPos < next.reader.nextPos!)) next = l;
      if (!next) break;
      const run = next.reader.next()!;
      const t = run.time - m.start;
      const f = files[next.conn]![next.d];
      chunks.row(t, next.conn, next.d, f.bytes, run.bytes.length);
      f.write(run.bytes, t);
    }
    for (const l of lanes) {
      const h = l.e.hole;
      if (h) files[l.conn]![l.d].hole = { conn: l.conn, direction: l.d, offset: h.offset, length: h.length, reason: h.reason };
    }
  } finally {
    closeSync(fd);
  }
}

/** A gzipped file: one more pass over it, reassembling the migration's connections. */
async function copyByReassembly(source: OpenSource, m: Migration, files: Files, chunks: ChunksWriter): Promise<void> {
  const byIndex = new Map(m.connections.map((c, conn) => [c.index, { c, conn }]));
  for await (const e of tcpEvents(source(), { select: (i) => byIndex.has(i) })) {
    if (e.kind !== 'stream') continue;
    const hit = byIndex.get(e.connection);
    if (!hit) continue;
    const d: Direction = e.from === hit.c.srcSide ? 'src2dst' : 'dst2src';
    const f = files[hit.conn]![d];
    if (f.hole) continue; // past a hole nothing is contiguous any more; the hole is reported
    const t = e.event.time - m.start;
    if (e.event.kind === 'data') {
      chunks.row(t, hit.conn, d, f.bytes, e.event.bytes.length);
      f.write(e.event.bytes, t);
    } else if (e.event.kind === 'hole') {
      f.hole = { conn: hit.conn, direction: d, offset: e.event.offset, length: e.event.length, reason: e.event.reason };
    }
  }
}

/** Import, then say per connection what was written; exit 1 when a direction stopped at a hole. */
export async function importCommand(path: string, o: ImportOptions & { quiet: boolean }, out: Output): Promise<number> {
  const r = await runImport(path, o);
  if (!o.quiet) for (const n of r.notices) out.line(`# note: ${n}`);
  for (const c of r.index.connections) {
    const up = c.directions.src2dst.bytes_received;
    const back = c.directions.dst2src.bytes_received;
    const role = c.role + (c.multifdId !== undefined ? ` ${c.multifdId}` : '');
    out.line(`conn${String(c.id).padStart(2, '0')}  ${role.padEnd(18)} ${bytesHuman(up).padStart(10)} up  ${bytesHuman(back).padStart(10)} back`);
  }
  for (const h of r.holes) {
    out.line(`HOLE ${connectionLabel(h.conn, h.direction)}: ${h.length} bytes missing at offset ${h.offset} (${h.reason}); the file stops there`);
  }
  // A file cut inside a packet loses that packet: harmless only if every direction had closed before.
  const cut = r.cutShort;
  const lost = cut !== undefined && cut.openDirections > 0;
  if (r.holes.length) out.line(`import: ${o.outDir} written; ${r.holes.length} direction(s) cut at a hole`);
  else if (r.afterClose) out.line(`import: ${o.outDir} written; ${r.afterClose} bytes captured after a connection was reset or closed were not written (see the notes)`);
  else if (lost) out.line(`import: ${o.outDir} written; the capture file is cut short at byte ${cut.fileOffset} while ${cut.openDirections} direction(s) were still open: their last bytes may be lost`);
  else out.line(`import: ${o.outDir} written, every byte of ${r.index.connection_count} connection(s)${cut ? ` (each closed before the capture file's cut at byte ${cut.fileOffset})` : ''}`);
  return r.holes.length || lost || r.afterClose ? 1 : 0;
}
