/**
 * Pull-based reading of one channel: `next()` yields the channel's records
 * one by one, reading the file a chunk at a time. Lets a consumer interleave
 * channels (e.g. multifd rounds between main-channel barriers) in flat memory.
 */
import { CodecError, type CodecRecord, type Decoder } from '@migwire/stream-codec';
import type { CaptureChannel } from '../open/open-capture.js';
import { channelBytes, type Recycle } from './file-bytes.js';
import { withPlace } from './outcome.js';

export class ChannelCursor<R extends CodecRecord> {
  private readonly queue: R[] = [];
  private head = 0;
  private iter: AsyncIterator<Uint8Array> | undefined;
  private done = false;
  bytes = 0;
  error: CodecError | undefined;

  constructor(
    readonly channel: CaptureChannel,
    private readonly decoder: Decoder<R>,
    /**
     * stream: the channel's bytes when they come from a shared read (Capture.openAll);
     * recycle: reuse read buffers (see file-bytes.ts), only when every record is done with before the next read.
     */
    private readonly o: { stream?: AsyncIterable<Uint8Array>; recycle?: Recycle } = {},
  ) {}

  /** The next record, or undefined at the end of the channel (or at its first error, kept in `error`). */
  async next(): Promise<R | undefined> {
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

  private async fill(): Promise<void> {
    this.iter ??= (this.o.stream ?? channelBytes(this.channel, this.o.recycle))[Symbol.asyncIterator]();
    const sink = (r: R): void => {
      this.queue.push(r);
    };
    try {
      const n = await this.iter.next();
      if (n.done) {
        this.done = true;
        this.decoder.end(sink);
      } else {
        this.bytes += n.value.length;
        this.decoder.write(n.value, sink);
      }
    } catch (e) {
      if (!(e instanceof CodecError)) throw withPlace(e, this.channel, this.bytes);
      this.error = e;
      this.done = true;
    }
  }
}
