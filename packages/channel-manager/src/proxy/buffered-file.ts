/**
 * A recording file written through the page cache (the default): received chunks (64 KiB from a
 * socket) are held back, corked, and written together with one writev once WRITE_BATCH_BYTES are
 * waiting, or at the latest after WRITE_BATCH_MS: one file-system call per ~1 MiB instead of one
 * per chunk, each a trip through libuv's thread pool.
 */
import type { WriteStream } from 'node:fs';
import { createOutputStream } from '@migwire/capture';
import type { RecordingFile, RecordingFileEvents } from './recording-file.js';
import { firstEvent } from './first-event.js';

export const WRITE_BATCH_BYTES = 1024 * 1024;
export const WRITE_BATCH_MS = 5;

export class BufferedFile implements RecordingFile {
  // Not #private: a test counts its listeners.
  private readonly out: WriteStream;
  readonly #closed: Promise<void>;
  #corked = 0;
  #timer: NodeJS.Timeout | undefined;

  /** Creates `path` new (throws OutputError when it cannot); `lagBytes` is the stream's high-water mark. */
  constructor(path: string, replace: boolean, lagBytes: number, private readonly events: RecordingFileEvents) {
    const out = (this.out = createOutputStream(path, { replace, highWaterMark: lagBytes }));
    out.on('error', (e) => events.onError(e.message));
    this.#closed = new Promise((resolve) => out.once('close', () => resolve()));
  }

  write(chunk: Buffer, done?: () => void): boolean {
    const out = this.out;
    const n = chunk.length;
    if (this.#corked === 0) {
      out.cork();
      this.#timer = setTimeout(() => this.#flush(), WRITE_BATCH_MS);
    }
    this.#corked += n;
    // The stream keeps the chunk until it is written (or failed): only then is it done with.
    const ok = out.write(chunk, (err) => {
      if (err) this.events.onError(err.message);
      else this.events.onWritten(n);
      done?.();
    });
    if (this.#corked >= WRITE_BATCH_BYTES) this.#flush();
    return ok;
  }

  drained(): Promise<void> {
    // Nothing drains while the batch is corked.
    this.#flush();
    return this.out.writableNeedDrain ? firstEvent(this.out, ['drain', 'error']) : Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.out.closed) return;
    this.#flush();
    this.out.end();
    await this.#closed;
  }

  /** Write the chunks held back (one writev). */
  #flush(): void {
    if (this.#corked === 0) return;
    clearTimeout(this.#timer);
    this.#corked = 0;
    this.out.uncork();
  }
}
