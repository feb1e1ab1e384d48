/** What reassembly of one TCP direction reports, in stream order. Nothing is dropped unreported. */

/** Why bytes of a stream are missing. */
export type HoleReason =
  /** The capture missed a segment the peers exchanged (capture drops, mid-capture loss). */
  | 'lost'
  /** The packet was captured but cut by the snapshot length. */
  | 'snaplen';

export type StreamEvent =
  /** In-order bytes at `offset` (stream offset: bytes since the first payload byte). */
  | {
      kind: 'data';
      offset: number;
      bytes: Uint8Array;
      time: number;
      /** Where `bytes` lie in the (uncompressed) capture file, when they are one stretch of it; NaN otherwise. */
      filePos: number;
    }
  /** `length` bytes at `offset` are missing; the next data event starts at offset + length. */
  | { kind: 'hole'; offset: number; length: number; reason: HoleReason; time: number }
  /** A retransmission or overlap carried different bytes; the first copy was kept. */
  | { kind: 'conflict'; offset: number; length: number; time: number }
  /** Bytes from before the stream's first captured byte (only when its SYN was not captured). */
  | { kind: 'before-start'; offset: number; length: number; time: number }
  | { kind: 'syn' | 'fin' | 'rst'; offset: number; time: number };

/** Per-direction totals, for summaries. */
export interface DirectionStats {
  /** In-order bytes delivered. */
  bytes: number;
  /** Bytes missing (sum of hole lengths). */
  missingBytes: number;
  holes: number;
  /** Bytes seen again (retransmission, overlap), whether equal or not. */
  retransmittedBytes: number;
  conflicts: number;
  /** Segments that arrived ahead of a gap and waited. */
  outOfOrderSegments: number;
  packets: number;
  firstTime: number;
  lastTime: number;
  synSeen: boolean;
  finSeen: boolean;
  rstSeen: boolean;
  /** RSTs whose sequence number lies far outside the stream (a real TCP stack ignores them): not taken as the end. */
  ignoredResets: number;
  /** Payload bytes captured beyond the stream's end after the connection closed (a RST, or FINs both ways): not read. */
  bytesAfterClose: number;
}

export function emptyStats(): DirectionStats {
  return {
    bytes: 0,
    missingBytes: 0,
    holes: 0,
    retransmittedBytes: 0,
    conflicts: 0,
    outOfOrderSegments: 0,
    packets: 0,
    firstTime: NaN,
    lastTime: NaN,
    synSeen: false,
    finSeen: false,
    rstSeen: false,
    ignoredResets: 0,
    bytesAfterClose: 0,
  };
}
