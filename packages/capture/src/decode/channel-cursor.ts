/**
 * Pull-based reading of one channel: `next()` yields the channel's records
 * one by one, reading the file a chunk at a time. Lets a consumer interleave
 * channels (e.g. multifd rounds between main-channel barriers) in flat memory.
 */
import { CodecError, MainStreamDecoder, type CodecRecord, type Decoder, type PassedPageRun } from '@migwire/stream-codec';
import type { CaptureChannel } from '../open/open-capture.js';
import { channelBytes, type Recycle } from './file-bytes.js';
import { withPlace } from './outcome.js';
import { checkedRuns, mainFileWithRuns, readsPageRuns, type ReadPageRun } from './page-runs/reader.js';

/** A run of PAGE/ZERO records the main decoder took whole; its pages are in `bytes` (forEachRunPage). */
export interface PageRunItem {
  kind: 'page-run';
  run: PassedPageRun;
  /** The run's records as read, from run.start to run.end: views of a read buffer. */
  bytes: Uint8Array;
}

export interface ChannelCursorOptions {
  /** The channel's bytes when they come from a shared read (Capture.openAll). */
  stream?: AsyncIterable<Uint8Array>;
  /** Reuse read buffers (see file-bytes.ts), only when every record is done with before the next read. */
  recycle?: Recycle;
  /**
   * A main channel in a plain file (see readsPageRuns) is read with page runs: its runs of PAGE
   * and ZERO records come out as one PageRunItem each instead of a record each, their buffers
   * reused once `inUse` lets go of them (and the decoder is past them). Other channels ignore it.
   */
  pageRuns?: { inUse(buffer: ArrayBufferLike): boolean };
}

/** `X`: PageRunItem when `pageRuns` is asked for. */
export class ChannelCursor<R extends CodecRecord, X = never> {
  private readonly queue: Array<R | X> = [];
  private head = 0;
  private iter: AsyncIterator<Uint8Array | ReadPageRun> | undefined;
  private done = false;
  bytes = 0;
  error: CodecError | undefined;

  constructor(
    readonly channel: CaptureChannel,
    private readonly decoder: Decoder<R>,
    private readonly o: ChannelCursorOptions = {},
  ) {}

  /** The next record, or undefined at the end of the channel (or at its first error, kept in `error`). */
  async next(): Promise<R | X | undefined> {
    while (this.head >= this.queue.length) {
      if (this.done) return undefined;
      this.queue.length = 0;
      this.head = 0;
      await this.fill();
    }
    return this.queue[this.head++];
  }

  /** Stop reading before the end (closes the file, stops its hash worker); next() then returns undefined. */
  async close(): Promise<void> {
    this.done = true;
    this.queue.length = 0;
    this.head = 0;
    await this.iter?.return?.();
  }

  private source(): AsyncIterable<Uint8Array | ReadPageRun> {
    const ch = this.channel;
    const dec = this.decoder;
    if (this.o.pageRuns && !this.o.stream && dec instanceof MainStreamDecoder && readsPageRuns(ch)) {
      const runs = mainFileWithRuns(ch.path!, dec, undefined, { pagesElsewhere: this.o.pageRuns });
      return ch.expect ? checkedRuns(runs, ch.path!, ch.expect) : runs;
    }
    return this.o.stream ?? channelBytes(ch, this.o.recycle);
  }

  private async fill(): Promise<void> {
    this.iter ??= this.source()[Symbol.asyncIterator]();
    const sink = (r: R): void => {
      this.queue.push(r);
    };
    try {
      const n = await this.iter.next();
      if (n.done) {
        this.done = true;
        this.decoder.end(sink);
      } else if (n.value instanceof Uint8Array) {
        this.bytes += n.value.length;
        this.decoder.write(n.value, sink);
      } else {
        // A run the decoder took whole (only with pageRuns, where X is PageRunItem): found in this
        // reader's own chunks (no workers here), so it comes with its bytes.
        const run = n.value;
        this.bytes += run.end - run.start;
        this.queue.push({ kind: 'page-run', run, bytes: run.bytes! } satisfies PageRunItem as X);
      }
    } catch (e) {
      if (!(e instanceof CodecError)) throw withPlace(e, this.channel, this.bytes);
      this.error = e;
      this.done = true;
    }
  }
}
