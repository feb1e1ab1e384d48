/**
 * chunks.csv: `seq,t,conn,dir,offset,len`, one line per recv() of the recorder in arrival order;
 * `t` in seconds on the capture's clock, `offset` into that direction's file.
 */
import type { Direction } from '../naming.js';

export const CHUNKS_HEADER = 'seq,t,conn,dir,offset,len';

export interface ChunkRow {
  seq: number;
  /** Seconds on the capture's clock. */
  t: number;
  conn: number;
  dir: Direction;
  offset: number;
  len: number;
}

/** No recorded recv is larger than this; a bigger length is a broken chunks.csv, not a buffer to allocate. */
export const MAX_CHUNK = 16 * 1024 * 1024;

/**
 * Longest chunks.csv line a reader takes. Real rows are under 200 bytes (six numbers and a
 * direction; the writer keeps 256 for one); the rest is room for hand-edited files. A longer line
 * is not a row, and reading it whole is what let one line take hundreds of MB.
 */
export const MAX_CHUNKS_LINE = 4096;
