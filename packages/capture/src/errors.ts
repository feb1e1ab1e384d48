import { CodecError, ErrorCode } from '@migwire/stream-codec';

/** A capture that cannot be read as one: missing, empty, corrupt (a bad .gz, a broken chunks.csv). */
export class CaptureError extends Error {
  override name = 'CaptureError';

  constructor(
    message: string,
    /** The file or directory at fault. */
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A capture that is readable but not as asked: --migration N names no migration, or several need one named. */
export class CaptureSelectionError extends CaptureError {
  override name = 'CaptureSelectionError';
}

/**
 * Bytes of a channel the capture never saw (a packet capture that lost a segment or cut it at the
 * snapshot length). A CodecError (code STREAM_HOLE) so every decoder loop stops here as at any
 * other decode failure: what follows cannot be decoded in order.
 */
export class StreamHoleError extends CodecError {
  constructor(
    /** The capture file. */
    readonly path: string,
    /** The channel's display name, its connection (capture numbering) and direction. */
    channel: string,
    readonly conn: number,
    readonly direction: 'src2dst' | 'dst2src',
    /** Stream offset of the first missing byte. */
    offset: number,
    /** Bytes missing here. */
    readonly length: number,
    /** lost: the capture missed a segment; snaplen: the packet was cut short. */
    readonly holeReason: 'lost' | 'snaplen',
    /** Bytes missing in this direction over the whole capture. */
    readonly missingBytes: number,
  ) {
    super({
      code: ErrorCode.StreamHole,
      channel,
      offset,
      message:
        `${length} bytes missing from the capture (conn${String(conn).padStart(2, '0')}.${direction}, ` +
        `${holeReason === 'snaplen' ? 'packets cut by the snapshot length' : 'segment not captured'}; ${missingBytes} bytes missing in this direction in all)`,
    });
    this.name = 'StreamHoleError';
  }
}
