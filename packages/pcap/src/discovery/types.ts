/** What pass 1 (indexing) tells about a capture's connections and migrations. */
import type { ChannelRole } from '@migwire/stream-codec';
import type { FormatNotice } from '../formats/packet.js';
import type { Endpoint, Side, SkipCount, SkipReason } from '../tcp/connections.js';
import type { DirectionStats, HoleReason } from '../tcp/events.js';
import type { StreamExtents } from './extents.js';

export type Direction = 'src2dst' | 'dst2src';

export interface DirectionSummary extends DirectionStats {
  /** No SYN for this direction was captured: its stream starts mid-way (offsets count from the
   * first captured byte, which need not be a record boundary). */
  midStream: boolean;
  /** Mid-stream only: where decoding can start. A multifd channel's first packet header found
   * (its init message was never captured); a main channel's first RAM record found (one of a run
   * of records that parse in a row: the stream's header, section and block names were never
   * captured). Absent when no boundary was found. */
  resyncOffset?: number;
}

/** Something wrong in one direction's bytes, at a stream offset. */
export type StreamProblem =
  | { kind: 'hole'; direction: Direction; offset: number; length: number; reason: HoleReason; time: number }
  | { kind: 'conflict'; direction: Direction; offset: number; length: number; time: number }
  | { kind: 'before-start'; direction: Direction; offset: number; length: number; time: number }
  /** The capture ended before this direction's FIN (or a RST): its stream may go on past `offset`. */
  | { kind: 'open-at-end'; direction: Direction; offset: number; time: number };

export interface ChannelConnection {
  /** Connection index in the file (what readDirection takes). */
  index: number;
  /** What the source-to-destination bytes open; the reverse of `main` is the return path. */
  role: ChannelRole;
  multifdId?: number;
  /** The migration source's end (connecting side) and the destination's (listening side). */
  src: Endpoint;
  dst: Endpoint;
  /** Which tcpEvents side is the source (internal bookkeeping, for readDirection). */
  srcSide: Side;
  /** How src/dst were decided: a captured SYN, the channel's first bytes, or port numbers. */
  orientation: 'syn' | 'first-bytes' | 'ports';
  src2dst: DirectionSummary;
  dst2src: DirectionSummary;
  /** Holes, conflicts and bytes before the start, in stream order per direction (the first
   * `maxProblems` of each; the stats hold the exact counts). */
  problems: StreamProblem[];
}

export interface Migration {
  id: number;
  destination: Endpoint;
  start: number;
  end: number;
  connections: ChannelConnection[];
}

export type CaptureProblem =
  | FormatNotice
  | { kind: 'skipped-packets'; reason: SkipReason; packets: number; firstPacket: number };

export interface CaptureIndex {
  migrations: Migration[];
  /** TCP connections that belong to no migration: the first MAX_IGNORED_DESCRIBED (1000) in start order. */
  ignored: ChannelConnection[];
  /** How many connections belong to no migration (may exceed `ignored.length`). */
  ignoredCount: number;
  /** File-level notices and packets that carried no TCP (counted by reason). */
  problems: CaptureProblem[];
  packets: number;
  /** Bytes missing over all migration connections, both directions. */
  missingBytes: number;
  /** With IndexOptions.extents: where each direction's bytes lie in the file, by
   * `${connection index}${side}` (see streamExtents). */
  extents?: Map<string, StreamExtents>;
}
