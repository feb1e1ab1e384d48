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
