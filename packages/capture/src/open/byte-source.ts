/**
 * Reading one channel file, plain or gzipped: streamed in bounded chunks, its first bytes, and its
 * length, without unpacking the whole file.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { constants as zlibConstants, createGunzip, gunzipSync } from 'node:zlib';
import { CaptureError } from '../errors.js';

export const isGzipPath = (path: string): boolean => path.endsWith('.gz');

/** Does the file start with the gzip magic (whatever its name)? */
export function isGzipFile(path: string): boolean {
  const b = readPrefix(path, 2);
  return b.length === 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Wrap a stream so any failure (unreadable file, corrupt or truncated gzip) is a CaptureError naming `path`. */
async function* guarded(source: Readable, path: string, what: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of source) yield chunk as Uint8Array;
  } catch (e) {
    throw new CaptureError(`${path}: ${what}: ${(e as Error).message}`, path, { cause: e });
  } finally {
    source.destroy();
  }
}

/** What index.json says a channel file holds (its unpacked bytes). */
export interface ExpectedContent {
  size?: number;
  /** sha256 of the bytes, hex; empty or absent: not checked. */
  sha256?: string;
}

/**
 * Pass the bytes through, hashing them on the way (no second pass); at the end, a byte count or
 * digest that differs from index.json is a CaptureError naming the file.
 */
export async function* verified(source: AsyncIterable<Uint8Array>, path: string, expect: ExpectedContent): AsyncGenerator<Uint8Array> {
  const hash = expect.sha256 ? createHash('sha256') : undefined;
  let n = 0;
  for await (const chunk of source) {
    hash?.update(chunk);
    n += chunk.length;
    yield chunk;
  }
  checkRead(path, expect, n, hash?.digest('hex'));
}

/** After a whole read: a byte count or sha256 (when computed) that differs from index.json is a CaptureError naming the file. */
export function checkRead(path: string, expect: ExpectedContent, bytes: number, sha256: string | undefined): void {
  if (expect.size !== undefined && bytes !== expect.size) throw new CaptureError(`${path}: holds ${bytes} bytes, index.json says ${expect.size}: the file changed after it was recorded`, path);
  if (sha256 !== undefined && expect.sha256 && sha256 !== expect.sha256) throw new CaptureError(`${path}: sha256 ${sha256} differs from index.json's ${expect.sha256}: the file changed after it was recorded`, path);
}

/**
 * Unpacked bytes per gunzip step. Each step is a trip through libuv's pool; zlib's default of
 * 16 KiB made the main thread wait idle for a third of `dump` of a 13 MB bundled stream.
 */
export const GUNZIP_CHUNK = 256 * 1024;

/** A file's bytes (unpacked when it ends in .gz), 256 KiB at a time; checked against `expect` when given. */
export function fileBytes(path: string, expect?: ExpectedContent): AsyncIterable<Uint8Array> {
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  let bytes: AsyncIterable<Uint8Array>;
  if (!isGzipPath(path)) bytes = guarded(file, path, 'cannot read');
  else {
    const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
    file.on('error', (e) => gunzip.destroy(e));
    bytes = guarded(file.pipe(gunzip), path, 'corrupt or truncated gzip');
  }
  return expect && (expect.sha256 || expect.size !== undefined) ? verified(bytes, path, expect) : bytes;
}

/** Bytes of a stream (stdin), with failures named after `path`. */
export function streamBytes(stream: Readable, path: string): AsyncIterable<Uint8Array> {
  return guarded(stream, path, 'cannot read');
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
export function readHead(path: string, n = 64): Uint8Array {
  if (!isGzipPath(path)) return readPrefix(path, n);
  for (const prefix of [4096, 65536]) {
    const packed = readPrefix(path, prefix);
    if (packed.length === 0) return packed;
    try {
      const head = gunzipSync(packed, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      if (head.length >= n || packed.length < prefix) return head.subarray(0, n);
    } catch (e) {
      // With the gzip magic it is a damaged gzip, not a stream of unknown kind.
      if (packed[0] === 0x1f && packed[1] === 0x8b) throw new CaptureError(`${path}: corrupt gzip within its first ${packed.length} bytes: ${(e as Error).message}`, path, { cause: e });
      return packed.subarray(0, n); // not gzip after all: its own bytes decide (usually 'other')
    }
  }
  return new Uint8Array(0);
}

/**
 * Bytes a channel file holds: for `.gz` the uncompressed length from the gzip trailer (ISIZE,
 * modulo 4 GiB), so an empty channel stays empty when compressed.
 */
export function channelSize(path: string): number {
  const st = statSync(path);
  if (!isGzipPath(path) || st.size < 18) return st.size;
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, st.size - 4);
    return b.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}

/** `source` without its first `n` bytes. */
export async function* skipBytes(source: AsyncIterable<Uint8Array>, n: number): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    if (n >= chunk.length) {
      n -= chunk.length;
      continue;
    }
    yield n > 0 ? chunk.subarray(n) : chunk;
    n = 0;
  }
}
