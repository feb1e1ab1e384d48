/** One captured link-layer frame, as both file formats deliver it. */
export interface CapturedPacket {
  /** Link type (LINKTYPE_* number) of the interface it was captured on. */
  linkType: number;
  /** Interface index (pcapng IDB order; always 0 for libpcap). */
  interfaceId: number;
  /** Capture time, seconds since the epoch (sub-microsecond digits are approximate); NaN for a
   * pcapng Simple Packet Block, which has none (tcpEvents then uses the previous packet's). */
  time: number;
  /** The captured bytes (at most snaplen). */
  data: Uint8Array;
  /** The frame's length on the wire (more than data.length when snaplen cut it). */
  originalLength: number;
  /** Packet number in the file, from 1 (as Wireshark counts). */
  number: number;
  /** Where `data` starts in the (uncompressed) file. */
  fileOffset: number;
  /**
   * Read with a peek (readPackets' `peek`): `data` holds only the first bytes and this reads the
   * rest, returning the whole captured frame. Not called: the rest is skipped unread.
   */
  more?: () => Promise<Uint8Array>;
  /** Bytes captured in the file for this frame (data.length unless only peeked at). */
  capturedLength?: number;
}

/** The file is not a capture this reader understands, or is corrupt beyond recovery. */
export class PcapFormatError extends Error {
  constructor(message: string, readonly fileOffset: number) {
    super(`${message} (at byte ${fileOffset})`);
    this.name = 'PcapFormatError';
  }
}

/** Notes the file readers hand out instead of skipping anything silently. */
export type FormatNotice =
  | { kind: 'truncated-file'; fileOffset: number; message: string }
  | { kind: 'unknown-block'; fileOffset: number; blockType: number }
  | { kind: 'unknown-interface'; fileOffset: number; interfaceId: number };

/** What a format reader emits, in file order. */
export type FormatItem = { packet: CapturedPacket } | { notice: FormatNotice };

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
