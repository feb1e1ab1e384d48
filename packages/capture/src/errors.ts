import { CodecError, ErrorCode } from '@migwire/stream-codec';

/**
 * What made a capture unreadable, for callers and tests that tell causes apart without parsing
 * messages. Optional on CaptureError: errors raised before codes existed carry none.
 */
export type CaptureErrorCode =
  /** index.json does not parse as JSON, or is not an object. */
  | 'INDEX_NOT_JSON'
  /** A field of index.json has the wrong type or shape (the message gives its JSON path). */
  | 'INDEX_INVALID'
  /** meta.json does not parse, is not an object, or a field a reader uses has the wrong type. */
  | 'META_INVALID'
  /** index.json lists a file the capture directory does not hold: the recording is incomplete. */
  | 'LISTED_FILE_MISSING'
  /** The capture directory holds a connNN file index.json does not list: added after recording, with nothing to check it against. */
  | 'UNLISTED_FILE'
  /** A channel file is not a readable plain file (a directory, a dangling or looping link, a device). */
  | 'NOT_A_FILE'
  /** A chunks.csv line longer than any row a recorder writes (reading stops there, memory stays flat). */
  | 'CHUNKS_LINE_TOO_LONG'
  /** A chunks.csv row that is not numbers where numbers go, or a header without the needed columns. */
  | 'CHUNKS_BAD_ROW'
  /** chunks.csv holds no header. */
  | 'CHUNKS_EMPTY'
  /** chunks.csv cannot be read. */
  | 'CHUNKS_UNREADABLE';

/** A capture that cannot be read as one: missing, empty, corrupt (a bad .gz, a broken chunks.csv). */
export class CaptureError extends Error {
  override name = 'CaptureError';
  /** Why, when the thrower says (see CaptureErrorCode). */
  declare readonly code?: CaptureErrorCode;

  constructor(
    message: string,
    /** The file or directory at fault. */
    readonly path: string,
    options?: { cause?: unknown; code?: CaptureErrorCode },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.code !== undefined) this.code = options.code;
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
