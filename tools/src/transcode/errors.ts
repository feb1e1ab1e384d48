/** Problems transcode reports itself (the recording's own decode errors stay CodecErrors). */
export type TranscodeErrorCode =
  | 'NO_MAIN_CHANNEL'
  | 'UNSUPPORTED_CHANNEL'
  /** meta.json records more (or fewer) multifd channels than the capture holds. */
  | 'MISSING_CHANNELS'
  | 'UNSUPPORTED_RECORD'
  | 'BAD_OPTION'
  | 'DESTINATION_CLOSED'
  | 'DESTINATION_STALLED'
  | 'CONNECT_FAILED'
  | 'SWITCHOVER_ACK_MISSING'
  /** What the destination sent back on the return path does not decode (no QEMU sends that). */
  | 'BAD_RETURN_PATH';

export class TranscodeError extends Error {
  override name = 'TranscodeError';
  readonly code: TranscodeErrorCode;
  readonly channel: string | undefined;
  readonly offset: number | undefined;

  constructor(code: TranscodeErrorCode, message: string, where: { channel?: string; offset?: number } = {}) {
    super(where.channel !== undefined ? `${message} (${code}) on ${where.channel}${where.offset !== undefined ? ` at byte ${where.offset}` : ''}` : `${message} (${code})`);
    this.code = code;
    this.channel = where.channel;
    this.offset = where.offset;
  }
}

/** Bytes back from the destination that are no return path (its decoder's reason): no QEMU sends them. */
export function badReturnPath(reason: string): TranscodeError {
  return new TranscodeError('BAD_RETURN_PATH', `the destination's return path does not decode: ${reason}`, { channel: 'return-path' });
}
