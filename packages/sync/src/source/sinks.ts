/** What the source-side coordinator talks to: callbacks standing in for the channels (no sockets here). */

/** One guest page, named the way multifd packets name it: RAM block + byte offset in the block. */
export interface PageRef {
  block: string;
  offset: number;
}

/** A packet of pages handed to one multifd channel (up to pagesPerPacket pages of one block). */
export interface OutgoingPagesPacket {
  channel: number;
  /** Global across channels, one per RAM or SYNC packet, like QEMU 10.0's counter. */
  packetNum: number;
  block: string;
  offsets: readonly number[];
}

/** A SYNC packet (flags 0x01, no pages) handed to one multifd channel. */
export interface OutgoingSyncPacket {
  channel: number;
  packetNum: number;
}

/**
 * One multifd channel. Calls only queue: each sink must keep its own calls in order, which is all
 * the barrier needs (QEMU's channel threads give the same guarantee).
 */
export interface MultifdChannelSink {
  sendPages(packet: OutgoingPagesPacket): void;
  sendSync(packet: OutgoingSyncPacket): void;
}

/** The main channel, as far as the barrier is concerned: the RAM section's MULTIFD_FLUSH record. */
export interface MainChannelSink {
  /** Write `be64 0x200` (RAM_SAVE_FLAG_MULTIFD_FLUSH) into the running RAM section. */
  writeMultifdFlush(): void;
}
