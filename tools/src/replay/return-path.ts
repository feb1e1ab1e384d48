/**
 * Compares what the replayed destination sent back on the return path with what the recorded one
 * sent: both decoded with ReturnPathDecoder, message by message.
 */
import { CaptureError, StreamHoleError } from '@migwire/capture';
import { isCodecError, ReturnPathDecoder, type ReturnPathRecord } from '@migwire/stream-codec';
import { describe } from '../format/human.js';
import type { ReturnPathComparison, ReturnPathMessageSummary } from './types.js';

/**
 * Summaries kept per side (about 200 bytes each); a return path has a few messages per page
 * request at most. Past it messages are counted only, so a flooding destination costs no memory.
 */
const MAX_KEPT = 100_000;

/** Why a replay fails on bytes back that are no return path (QEMU's own always decode). */
export function garbledReturnPath(channel: string, error: string): string {
  return `the destination's return path on ${channel} does not decode: ${error}`;
}

/** Decodes one side incrementally and keeps a one-line summary per message. */
export class ReturnPathLog {
  readonly messages: ReturnPathMessageSummary[] = [];
  readonly counts: Record<string, number> = {};
  error: string | null = null;
  shutStatus: number | null = null;
  total = 0;
  private readonly dec: ReturnPathDecoder;
  private readonly sink = (r: ReturnPathRecord): void => {
    this.total++;
    const name = r.kind === 'rp-message' ? r.name : 'RECV_BITMAP data';
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    if (r.kind === 'rp-message' && r.args.message === 'SHUT') this.shutStatus = r.args.status;
    if (this.messages.length < MAX_KEPT) this.messages.push({ offset: r.offset, text: describe(r).replace(/^RP /, '') });
  };

  constructor(channel: string) {
    this.dec = new ReturnPathDecoder({ channel });
  }

  write(chunk: Uint8Array): void {
    if (this.error) return;
    try {
      this.dec.write(chunk, this.sink);
    } catch (e) {
      if (!isCodecError(e)) throw e;
      this.error = e.message;
    }
  }

  end(): void {
    if (this.error) return;
    try {
      this.dec.end(this.sink);
    } catch (e) {
      if (!isCodecError(e)) throw e;
      this.error = e.message;
    }
  }

  /** Decode a recorded return path from its byte source; a source that cannot be read to the end is kept as the log's error. */
  static async fromBytes(source: AsyncIterable<Uint8Array>, channel: string): Promise<ReturnPathLog> {
    const log = new ReturnPathLog(channel);
    try {
      for await (const c of source) log.write(c);
    } catch (e) {
      if (!(e instanceof CaptureError || e instanceof StreamHoleError)) throw e;
      log.error ??= e.message;
      return log;
    }
    log.end();
    return log;
  }
}

export function compareReturnPaths(recorded: ReturnPathLog, received: ReturnPathLog): ReturnPathComparison {
  const a = recorded.messages;
  const b = received.messages;
  let firstDivergence: ReturnPathComparison['firstDivergence'] = null;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i]?.text !== b[i]?.text) {
      firstDivergence = { index: i, recorded: a[i] ?? null, received: b[i] ?? null };
      break;
    }
  }
  return {
    recordedMessages: recorded.total,
    receivedMessages: received.total,
    same: firstDivergence === null && recorded.total === received.total && !recorded.error && !received.error,
    firstDivergence,
    recordedCounts: recorded.counts,
    receivedCounts: received.counts,
    recordedError: recorded.error,
    receivedError: received.error,
    shutStatus: received.shutStatus,
  };
}
