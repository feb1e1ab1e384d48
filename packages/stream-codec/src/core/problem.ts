import { CodecError, type ErrorCode } from './errors.js';
import type { ChannelRole } from '../identify/channel-role.js';

/**
 * Thrown by pure payload parsers that do not know their channel or absolute
 * offset; the decoder that called them turns it into a CodecError with both.
 * Internal: nothing public throws it (see asCodecErrors).
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

/** The CodecError for `p`, found in a payload that starts at byte `base` of `channel`. */
export function problemToCodecError(p: PayloadProblem, channel: string, base: number, role?: ChannelRole): CodecError {
  return new CodecError({
    code: p.code,
    channel,
    offset: base + p.at,
    message: p.message,
    ...(role !== undefined ? { role } : {}),
    ...(p.expected !== undefined ? { expected: p.expected } : {}),
    ...(p.found !== undefined ? { found: p.found } : {}),
  });
}

/**
 * `fn` as the public API offers it: a PayloadProblem leaves it as a CodecError on `channel`
 * (a name for the payload kind) with the offset relative to the payload.
 */
export function asCodecErrors<A extends unknown[], R>(fn: (...args: A) => R, channel: string): (...args: A) => R {
  return (...args: A): R => {
    try {
      return fn(...args);
    } catch (e) {
      if (e instanceof PayloadProblem) throw problemToCodecError(e, channel, 0);
      throw e;
    }
  };
}
