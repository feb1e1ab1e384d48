import type { ErrorCode } from './errors.js';

/**
 * Thrown by pure payload parsers that do not know their channel or absolute
 * offset; the decoder that called them turns it into a CodecError with both.
 */
export class PayloadProblem extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly expected?: string,
    readonly found?: string,
    /** Offset of the problem relative to the start of the payload. */
    readonly at = 0,
  ) {
    super(message);
  }
}
