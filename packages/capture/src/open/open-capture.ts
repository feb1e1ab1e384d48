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
import { channelSize, fileBytes, isGzipPath, readHead, streamBytes, type ExpectedContent } from './byte-source.js';

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
  /**
   * Check channel files against index.json (default true): sizes when opened, sha256 while they
   * are read; a difference is a CaptureError naming the file.
   */
  verify?: boolean;
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

/** What index.json says each channel file holds, by file name (without .gz). */
function expectedContents(index: CaptureIndex | undefined): Map<string, ExpectedContent> {
  const m = new Map<string, ExpectedContent>();
  const rows: Array<{ file?: unknown; size?: unknown; sha256?: unknown }> = [];
  if (Array.isArray(index?.connections)) for (const c of index.connections) rows.push(...Object.values((c as { directions?: object }).directions ?? {}).map((d: { file?: unknown; file_size?: unknown; sha256?: unknown }) => ({ file: d.file, size: d.file_size, sha256: d.sha256 })));
  if (Array.isArray((index as { files?: unknown })?.files)) rows.push(...((index as { files: Array<{ file?: unknown; size?: unknown; sha256?: unknown }> }).files));
  for (const r of rows) {
    if (typeof r.file !== 'string') continue;
    const e: ExpectedContent = {};
    if (typeof r.size === 'number') e.size = r.size;
    if (typeof r.sha256 === 'string' && /^[0-9a-f]{64}$/.test(r.sha256)) e.sha256 = r.sha256;
    m.set(r.file, e);
  }
  return m;
}

/** A size on disk that differs from index.json is reported at once (a .gz keeps its size modulo 4 GiB). */
function checkSize(path: string, size: number, expect: ExpectedContent | undefined): void {
  if (expect?.size === undefined) return;
  const want = isGzipPath(path) ? expect.size % 2 ** 32 : expect.size;
  if (size !== want) throw new CaptureError(`${path}: holds ${size} bytes, index.json says ${expect.size}: the file changed after it was recorded`, path);
}

function fileChannel(path: string, init: Omit<CaptureChannel, 'path' | 'size' | 'open'>, expect?: ExpectedContent): CaptureChannel {
  const size = channelSize(path);
  checkSize(path, size, expect);
  return { ...init, path, size, open: () => fileBytes(path, expect) };
}

/** Open a capture directory, a stream file (plain or .gz) or "-" (stdin). Throws CaptureError. */
export function openCapture(path: string, options: OpenCaptureOptions = {}): Capture {
  if (path === '-') {
    const stdin = options.stdin ?? process.stdin;
    return { kind: 'stdin', path, channels: [{ name: 'main', role: 'main', conn: 0, direction: 'src2dst', open: () => streamBytes(stdin, path) }], arrivals: noArrivals };
  }
  if (!existsSync(path)) throw new CaptureError(`no such file or directory: ${path}`, path);
  return statSync(path).isDirectory() ? openDirectory(path, options.verify ?? true) : openStreamFile(path);
}

function openStreamFile(path: string): Capture {
  const head = readHead(path);
  // A .gz whose first bytes do not unpack is taken as a main stream: its reader then reports the damage.
  const g = isGzipPath(path) && head.length === 0 ? { role: 'main' as const } : identify(head);
  const ch = fileChannel(path, { name: g.role === 'main' ? 'main' : basename(path), role: g.role, conn: 0, direction: 'src2dst' });
  if (g.multifdId !== undefined) ch.multifdId = g.multifdId;
  return { kind: 'file', path, channels: [ch], arrivals: noArrivals };
}

function openDirectory(path: string, verify: boolean): Capture {
  const index = readCaptureIndex(path);
  const expected = verify ? expectedContents(index) : new Map<string, ExpectedContent>();
  const expect = (file: string): ExpectedContent | undefined => expected.get(basename(file).replace(/\.gz$/, ''));
  const channels: CaptureChannel[] = [];
  const streamFile = STREAM_FILES.map((f) => join(path, f)).find((f) => existsSync(f));
  if (streamFile) channels.push(fileChannel(streamFile, { name: 'main', role: 'main', conn: 0, direction: 'src2dst' }, expect(streamFile)));
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
      checkSize(file, size, expect(file));
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
      const want = expect(file);
      const ch: CaptureChannel = { name: channelName(role, conn, direction, multifdId), role, conn, direction, path: file, size, open: () => fileBytes(file, want) };
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
