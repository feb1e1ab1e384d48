/** Messages the destination sends back on the main connection (MIG_RP_MSG_*). */
import type { U64 } from '../core/bytes.js';

export type ReturnPathArgs =
  | { message: 'SHUT'; status: number }
  | { message: 'PONG'; value: number }
  | { message: 'REQ_PAGES_ID'; start: U64; length: number; block: string }
  | { message: 'REQ_PAGES'; start: U64; length: number }
  | { message: 'RECV_BITMAP'; block: string }
  | { message: 'RESUME_ACK'; value: number }
  | { message: 'SWITCHOVER_ACK' };

export interface ReturnPathMessageRecord {
  kind: 'rp-message';
  offset: number;
  length: number;
  type: number;
  name: string;
  /** Payload exactly as it came. */
  payload: Uint8Array;
  args: ReturnPathArgs;
}

/** The raw received-pages bitmap that follows a RECV_BITMAP message (postcopy recovery). */
export interface ReturnPathBitmapRecord {
  kind: 'rp-recv-bitmap';
  offset: number;
  length: number;
  block: string;
  /** Bitmap bytes (little-endian 64-bit words, one bit per target page). */
  bitmap: Uint8Array;
  /** The be64 end marker as it came (QEMU writes 0x0123456789abcdef). */
  endingHi: number;
  endingLo: number;
}

export type ReturnPathRecord = ReturnPathMessageRecord | ReturnPathBitmapRecord;
export type ReturnPathRecordInput = ReturnPathRecord extends infer R
  ? R extends ReturnPathRecord
    ? Omit<R, 'offset' | 'length'>
    : never
  : never;
