/**
 * openCapture(path): every input the toolkit reads, as channels with roles, directions and byte
 * sources. A capture directory (connNN.*.bin[.gz] + index.json + chunks.csv), a directory with
 * stream.bin[.gz], a single stream file (plain or .gz), or "-" for standard input.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { identifyChannel, type ChannelRole } from '@migwire/stream-codec';
import { ArrivalTimes } from '../chunks/arrival-times.js';
import { CaptureError } from '../errors.js';
import { readCaptureIndex, type CaptureIndex } from '../index-schema/capture-index.js';
import { CHUNKS_FILE, connectionFileName, connectionLabel, DIRECTIONS, parseConnectionFileName, STREAM_FILES, type Direction } from '../naming.js';
import { channelSize, fileBytes, isGzipPath, readHead, streamBytes } from './byte-source.js';

export interface CaptureChannel {
  /** Display name: "main", "return-path", "multifd 2", "postcopy-preempt", "conn05.src2dst", ... */
  name: string;
  role: ChannelRole;
  /** Connection index (accept order) in a capture; 0 for a single file. */
  conn: number;
  direction: Direction;
  multifdId?: number;
  /** File holding the bytes (.gz: packed); undefined for stdin. */
  path?: string;
  /** Bytes the channel holds (for .gz, the unpacked length from the gzip trailer). */
  size?: number;
  /** Stream the channel's bytes in chunks (bounded memory); failures are CaptureErrors. */
  open(): AsyncIterable<Uint8Array>;
}

export interface Capture {
  kind: 'capture' | 'file' | 'stdin';
  path: string;
  channels: CaptureChannel[];
  /** Parsed index.json of a capture, when present. */
  index?: CaptureIndex;
  /** chunks.csv of a capture (recorded arrival times), when present. */
  chunksPath?: string;
  /** When each byte arrived (from chunks.csv); undefined without one. */
  arrivals(): Promise<ArrivalTimes | undefined>;
}

export interface OpenCaptureOptions {
  /** What "-" reads (default process.stdin). */
  stdin?: Readable;
}

const noArrivals = (): Promise<undefined> => Promise.resolve(undefined);

/** Role of a source-to-destination stream from its first bytes (all of them there are). */
function identify(head: Uint8Array): { role: ChannelRole; multifdId?: number } {
  return identifyChannel(head, { ended: true })!;
}

function channelName(role: ChannelRole, conn: number, direction: Direction, multifdId?: number): string {
  const raw = connectionLabel(conn, direction);
  switch (role) {
    case 'main':
    case 'return-path':
    case 'postcopy-preempt':
      return role;
    case 'multifd':
      return multifdId === undefined ? `multifd ${raw}` : `multifd ${multifdId}`;
    default:
      return raw;
  }
}

function fileChannel(path: string, init: Omit<CaptureChannel, 'path' | 'size' | 'open'>): CaptureChannel {
  return { ...init, path, size: channelSize(path), open: () => fileBytes(path) };
}

/** Open a capture directory, a stream file (plain or .gz) or "-" (stdin). Throws CaptureError. */
export function openCapture(path: string, options: OpenCaptureOptions = {}): Capture {
  if (path === '-') {
    const stdin = options.stdin ?? process.stdin;
    return { kind: 'stdin', path, channels: [{ name: 'main', role: 'main', conn: 0, direction: 'src2dst', open: () => streamBytes(stdin, path) }], arrivals: noArrivals };
  }
  if (!existsSync(path)) throw new CaptureError(`no such file or directory: ${path}`, path);
  return statSync(path).isDirectory() ? openDirectory(path) : openStreamFile(path);
}

function openStreamFile(path: string): Capture {
  const head = readHead(path);
  // A .gz whose first bytes do not unpack is taken as a main stream: its reader then reports the damage.
  const g = isGzipPath(path) && head.length === 0 ? { role: 'main' as const } : identify(head);
  const ch = fileChannel(path, { name: g.role === 'main' ? 'main' : basename(path), role: g.role, conn: 0, direction: 'src2dst' });
  if (g.multifdId !== undefined) ch.multifdId = g.multifdId;
  return { kind: 'file', path, channels: [ch], arrivals: noArrivals };
}

function openDirectory(path: string): Capture {
  const index = readCaptureIndex(path);
  const channels: CaptureChannel[] = [];
  const streamFile = STREAM_FILES.map((f) => join(path, f)).find((f) => existsSync(f));
  if (streamFile) channels.push(fileChannel(streamFile, { name: 'main', role: 'main', conn: 0, direction: 'src2dst' }));
  const conns = new Set<number>();
  for (const f of readdirSync(path)) {
    const parsed = parseConnectionFileName(f);
    if (parsed) conns.add(parsed.conn);
  }
  for (const conn of [...conns].sort((a, b) => a - b)) {
    let srcRole: ChannelRole | undefined;
    for (const direction of DIRECTIONS) {
      const file = [false, true].map((gz) => join(path, connectionFileName(conn, direction, gz))).find((f) => existsSync(f));
      if (!file) continue;
      const size = channelSize(file);
      let role: ChannelRole;
      let multifdId: number | undefined;
      if (direction === 'src2dst') {
        const g = identify(readHead(file));
        role = srcRole = g.role;
        multifdId = g.multifdId;
      } else {
        // The destination's bytes on a main connection are its return path; elsewhere they name nothing.
        role = !size ? 'empty' : srcRole === 'main' ? 'return-path' : 'other';
      }
      const ch: CaptureChannel = { name: channelName(role, conn, direction, multifdId), role, conn, direction, path: file, size, open: () => fileBytes(file) };
      if (multifdId !== undefined) ch.multifdId = multifdId;
      channels.push(ch);
    }
  }
  if (channels.length === 0) throw new CaptureError(`${path} holds no stream.bin and no connNN.*.bin files`, path);
  // Two channels claiming one multifd id (a broken or doctored recording) keep apart by connection.
  const names = new Map<string, number>();
  for (const c of channels) names.set(c.name, (names.get(c.name) ?? 0) + 1);
  for (const c of channels) if ((names.get(c.name) ?? 0) > 1) c.name = `${c.name} (conn${String(c.conn).padStart(2, '0')})`;
  const chunks = join(path, CHUNKS_FILE);
  const hasChunks = existsSync(chunks);
  const out: Capture = { kind: 'capture', path, channels, arrivals: hasChunks ? () => ArrivalTimes.load(chunks) : noArrivals };
  if (hasChunks) out.chunksPath = chunks;
  if (index) out.index = index;
  return out;
}
