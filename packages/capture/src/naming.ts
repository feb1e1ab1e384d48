/**
 * Names of the files in a capture directory: one file per connection and direction
 * (connNN.src2dst.bin / connNN.dst2src.bin, NN = accept order from 00, optionally .gz),
 * or a single stream.bin for file/exec migrations.
 */

/** Which way the bytes went: source to destination, or the destination's replies. */
export type Direction = 'src2dst' | 'dst2src';
export const DIRECTIONS: readonly Direction[] = ['src2dst', 'dst2src'];

export const INDEX_FILE = 'index.json';
export const CHUNKS_FILE = 'chunks.csv';
export const META_FILE = 'meta.json';
/** The migration file of a file/exec capture (as index.json names it: the unpacked bytes). */
export const STREAM_FILE = 'stream.bin';
/** ...stored plain or gzipped (first found wins). */
export const STREAM_FILES: readonly string[] = [STREAM_FILE, `${STREAM_FILE}.gz`];

/** "conn03.src2dst": a connection direction's label. */
export function connectionLabel(conn: number, direction: Direction): string {
  return `conn${String(conn).padStart(2, '0')}.${direction}`;
}

/** "conn03.src2dst.bin" (or ".bin.gz"): the file a connection direction is recorded in. */
export function connectionFileName(conn: number, direction: Direction, gz = false): string {
  return `${connectionLabel(conn, direction)}.bin${gz ? '.gz' : ''}`;
}

const CONNECTION_FILE = /^conn(\d+)\.(src2dst|dst2src)\.bin(\.gz)?$/;

/** The connection, direction and compression a file name stands for; undefined for other files. */
export function parseConnectionFileName(name: string): { conn: number; direction: Direction; gz: boolean } | undefined {
  const m = CONNECTION_FILE.exec(name);
  if (!m) return undefined;
  return { conn: Number(m[1]), direction: m[2] as Direction, gz: m[3] !== undefined };
}
