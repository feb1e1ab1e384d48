/**
 * The one place that decides what a channel whose start the capture missed (a packet capture
 * without its SYN, `CaptureChannel.midStream`) means for a command: how its decoder starts, and
 * the refusal of commands that need the whole stream (sending it to a destination, mutating it).
 */
import type { ResumeInRam } from '@migwire/stream-codec';
import { CaptureError } from '../errors.js';
import type { Capture, CaptureChannel } from '../open/open-capture.js';

/** Decoder options for where a channel's bytes begin (spread them into `decoderFor`'s or a decoder's options). */
export interface StreamStartOptions {
  /** Main captured mid-stream: it begins at a RAM record found mid-way. */
  resumeInRam?: ResumeInRam;
  /** Multifd captured mid-stream: it begins at a packet header, with no init message. */
  skipInit?: boolean;
}

/** `{}` for a channel captured from its start; else how its decoder must begin. */
export function streamStartOptions(ch: CaptureChannel): StreamStartOptions {
  if (!ch.midStream) return {};
  return ch.role === 'main' ? { resumeInRam: {} } : { skipInit: true };
}

/** Channels whose start the capture missed, main first. */
export function midStreamChannels(capture: Capture): CaptureChannel[] {
  return capture.channels.filter((c) => c.midStream).sort((a, b) => Number(b.role === 'main') - Number(a.role === 'main') || a.conn - b.conn);
}

/** "main, decoding starts 2886 bytes into its capture". */
export function midStreamText(ch: Pick<CaptureChannel, 'name' | 'midStream'>): string {
  return `${ch.name}, decoding starts ${ch.midStream?.skipped ?? 0} bytes into its capture`;
}

/** A command that needs a migration from its start was given a channel the capture caught mid-stream. */
export class StreamStartNotCapturedError extends CaptureError {
  override name = 'StreamStartNotCapturedError';

  /** The channel's display name. */
  readonly channel: string;
  /** Captured bytes before its first record boundary. */
  readonly skipped: number;

  constructor(path: string, ch: CaptureChannel, what: string) {
    const start = ch.role === 'main' ? 'header, configuration, RAM block list' : 'init message';
    super(`${what}: the ${ch.name} channel was captured mid-stream, its start (${start}) is not in the capture (${path}, channel ${midStreamText(ch)})`, path);
    this.channel = ch.name;
    this.skipped = ch.midStream?.skipped ?? 0;
  }
}

/**
 * Throws StreamStartNotCapturedError when any channel of the capture (or `only` those given) was
 * captured mid-stream. `what` says what cannot be done ("cannot replay ...").
 */
export function requireStreamStart(capture: Capture, what: string, only?: CaptureChannel[]): void {
  const missed = (only ?? midStreamChannels(capture)).find((c) => c.midStream);
  if (missed) throw new StreamStartNotCapturedError(capture.path, missed, what);
}
