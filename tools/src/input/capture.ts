/**
 * Inputs the tools read: a capture directory in the shared format
 * (connNN.src2dst.bin / connNN.dst2src.bin + index.json, or a file row with
 * stream.bin), a single stream file, or standard input.
 */
import { createReadStream, existsSync, readFileSync, readdirSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { join, basename } from 'node:path';
import { constants as zlibConstants, createGunzip, gunzipSync } from 'node:zlib';
import { guessSourceRole, type ChannelRole } from './roles.js';

export type Direction = 'src2dst' | 'dst2src';

export interface ChannelInput {
  /** Display name: "main", "return-path", "multifd 2", "postcopy-preempt", "conn05.src2dst", ... */
  name: string;
  role: ChannelRole;
  /** Connection index (accept order) in a capture; 0 for a single file. */
  conn: number;
  direction: Direction;
  multifdId?: number;
  /** File holding the bytes; undefined for stdin. */
  path?: string;
  size?: number;
  /** Stream the channel's bytes in chunks. */
  open(): AsyncIterable<Uint8Array>;
}

export interface MigrationInput {
  kind: 'capture' | 'file' | 'stdin';
  path: string;
  channels: ChannelInput[];
  /** Parsed index.json of a capture, when present. */
  index?: CaptureIndex;
}

export interface CaptureIndex {
  format?: string;
  transport?: string;
  connections?: Array<{ id: number; directions?: Record<string, { file?: string; bytes_received?: number }> }>;
  files?: Array<{ file: string; size?: number }>;
  roles?: Array<{ id: number; role: string; multifd_channel_id?: number }>;
  [k: string]: unknown;
}

function fileStream(path: string): AsyncIterable<Uint8Array> {
  const s = createReadStream(path, { highWaterMark: 256 * 1024 });
  return path.endsWith('.gz') ? s.pipe(createGunzip()) : s;
}

function readPrefix(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * First `n` bytes of a channel file; a `.gz` file is unpacked from a bounded prefix (deflate
 * expands at most ~1032:1, so a 4 KiB prefix can never allocate more than ~4 MiB).
 */
function readHead(path: string, n = 64): Uint8Array {
  if (!path.endsWith('.gz')) return readPrefix(path, n);
  for (const prefix of [4096, 65536]) {
    const packed = readPrefix(path, prefix);
    if (packed.length === 0) return packed;
    try {
      const head = gunzipSync(packed, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      if (head.length >= n || packed.length < prefix) return head.subarray(0, n);
    } catch {
      return packed.subarray(0, n); // not gzip after all: its own bytes decide (usually 'unknown')
    }
  }
  return new Uint8Array(0);
}

/**
 * Bytes a channel file holds: for `.gz` the uncompressed length from the gzip trailer (ISIZE,
 * modulo 4 GiB), so an empty channel stays empty when compressed.
 */
function channelSize(path: string): number {
  const st = statSync(path);
  if (!path.endsWith('.gz') || st.size < 18) return st.size;
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, st.size - 4);
    return b.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}

function channelName(role: ChannelRole, conn: number, direction: Direction, multifdId?: number): string {
  const raw = `conn${String(conn).padStart(2, '0')}.${direction}`;
  switch (role) {
    case 'main':
      return 'main';
    case 'return-path':
      return 'return-path';
    case 'multifd':
      return multifdId === undefined ? `multifd ${raw}` : `multifd ${multifdId}`;
    case 'postcopy-preempt':
      return 'postcopy-preempt';
    default:
      return raw;
  }
}

/** Open a capture directory, a stream file or "-" (stdin). */
export function openInput(path: string): MigrationInput {
  if (path === '-') {
    return {
      kind: 'stdin',
      path,
      channels: [{ name: 'main', role: 'main', conn: 0, direction: 'src2dst', open: () => process.stdin }],
    };
  }
  if (!existsSync(path)) throw new InputError(`no such file or directory: ${path}`);
  const st = statSync(path);
  if (!st.isDirectory()) {
    const head = readHead(path);
    const g = path.endsWith('.gz') && head.length === 0 ? { role: 'main' as const } : guessSourceRole(head);
    const ch: ChannelInput = { name: basename(path), role: g.role, conn: 0, direction: 'src2dst', path, size: st.size, open: () => fileStream(path) };
    if (g.role === 'main') ch.name = 'main';
    if (g.multifdId !== undefined) ch.multifdId = g.multifdId;
    return { kind: 'file', path, channels: [ch] };
  }
  let index: CaptureIndex | undefined;
  const indexPath = join(path, 'index.json');
  if (existsSync(indexPath)) index = JSON.parse(readFileSync(indexPath, 'utf8')) as CaptureIndex;

  const channels: ChannelInput[] = [];
  const streamFile = ['stream.bin', 'stream.bin.gz'].map((f) => join(path, f)).find((f) => existsSync(f));
  if (streamFile) {
    const size = statSync(streamFile).size;
    channels.push({ name: 'main', role: 'main', conn: 0, direction: 'src2dst', path: streamFile, size, open: () => fileStream(streamFile) });
  }
  const conns = new Set<number>();
  for (const f of readdirSorted(path)) {
    const m = /^conn(\d+)\.(src2dst|dst2src)\.bin(\.gz)?$/.exec(f);
    if (m) conns.add(Number(m[1]));
  }
  const mainConns = new Set<number>();
  for (const conn of [...conns].sort((a, b) => a - b)) {
    for (const direction of ['src2dst', 'dst2src'] as const) {
      const base = join(path, `conn${String(conn).padStart(2, '0')}.${direction}.bin`);
      const file = [base, base + '.gz'].find((f) => existsSync(f));
      if (!file) continue;
      const size = channelSize(file);
      let role: ChannelRole;
      let multifdId: number | undefined;
      if (direction === 'src2dst') {
        const g = guessSourceRole(readHead(file));
        role = g.role;
        multifdId = g.multifdId;
        if (role === 'main') mainConns.add(conn);
      } else {
        role = mainConns.has(conn) ? (size ? 'return-path' : 'empty') : size ? 'unknown' : 'empty';
      }
      const ch: ChannelInput = { name: channelName(role, conn, direction, multifdId), role, conn, direction, path: file, size, open: () => fileStream(file) };
      if (multifdId !== undefined) ch.multifdId = multifdId;
      channels.push(ch);
    }
  }
  if (channels.length === 0) throw new InputError(`${path} holds no stream.bin and no connNN.*.bin files`);
  // Two channels claiming one multifd id (a broken or doctored recording) keep apart by connection.
  const names = new Map<string, number>();
  for (const c of channels) names.set(c.name, (names.get(c.name) ?? 0) + 1);
  for (const c of channels) if ((names.get(c.name) ?? 0) > 1) c.name = `${c.name} (conn${String(c.conn).padStart(2, '0')})`;
  const out: MigrationInput = { kind: 'capture', path, channels };
  if (index) out.index = index;
  return out;
}

function readdirSorted(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** A user-facing problem with the input path (not a protocol error). */
export class InputError extends Error {
  override name = 'InputError';
}
