/** Records of a multifd channel: the 64-byte init message, then packets. */
import type { U64 } from '../core/bytes.js';

/** Which header layout the bytes show: 7.2 fills pages_alloc; 9.x/10.0 add zero pages and write 0 there. */
export type MultifdLayout = '7.2' | '10.0';

export type MultifdCompression = 'none' | 'zlib' | 'zstd' | 'qpl' | 'uadk' | 'qatzip' | 'unknown';

export interface MultifdInitRecord {
  kind: 'multifd-init';
  offset: number;
  length: number;
  magic: number;
  version: number;
  uuid: Uint8Array;
  channelId: number;
  /** The 39 bytes after the channel id (zero in every QEMU we meet), kept for exact re-encoding. */
  reserved: Uint8Array;
}

export interface MultifdRamPacketRecord {
  kind: 'multifd-packet';
  offset: number;
  length: number;
  layout: MultifdLayout;
  magic: number;
  version: number;
  flags: number;
  sync: boolean;
  compression: MultifdCompression;
  pagesAlloc: number;
  normalPages: number;
  zeroPages: number;
  nextPacketSize: number;
  /** Exact: a bigint beyond 2^53. */
  packetNum: U64;
  /** RAM block name (up to the first NUL of the 256-byte field). */
  block: string;
  /** Page offsets within the block: normal pages first, then zero pages. */
  normalOffsets: number[];
  zeroOffsets: number[];
  /** Raw fixed areas (bytes 32-63, the block name, the whole offsets array), kept so re-encoding is byte-exact: 7.2 leaves stale values there. */
  raw: { reserved: Uint8Array; ramblock: Uint8Array; offsets: Uint8Array };
  /** Payload exactly as it came: raw pages, or the next piece of the channel's zlib/zstd stream. */
  payload: Uint8Array;
  /** Set when the decoder was asked to skip payloads (`omitPayloads`): `payload` is then empty. */
  payloadOmitted?: boolean;
}

export interface MultifdDeviceStatePacketRecord {
  kind: 'multifd-device-state';
  offset: number;
  length: number;
  magic: number;
  version: number;
  flags: number;
  idstr: string;
  instanceId: number;
  nextPacketSize: number;
  raw: { idstr: Uint8Array };
  payload: Uint8Array;
}

export type MultifdRecord = MultifdInitRecord | MultifdRamPacketRecord | MultifdDeviceStatePacketRecord;
