/**
 * One direction of one proxied connection: every byte received is written to
 * its file and forwarded, and the three counts are kept so the recording can
 * prove it lost nothing (received = written = forwarded).
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, type WriteStream } from 'node:fs';
import { createOutputStream, type Direction, type DirectionStats, type EndReason } from '@migwire/capture';
import { openDirect, type DirectFile } from './direct-file.js';

export type DirectionName = Direction;
export type { DirectionStats, EndReason };

/**
 * How far a recording file may lag behind the network before the reader is paused. 1 MiB paused
 * the readers so often on a 2-core machine that recording ran at ~60% of a blind pipe; 8 MiB per
 * direction gives ~80% (pnpm bench) and still bounds what a stalled disk can make us hold.
 */
export const DEFAULT_FILE_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * Received chunks (64 KiB from a socket) are held back, corked, and written together with one
 * writev once this many bytes are waiting, or at the latest after WRITE_BATCH_MS: one file-system
 * call per ~1 MiB instead of one per chunk, each a trip through libuv's thread pool.
 */
export const WRITE_BATCH_BYTES = 1024 * 1024;
export const WRITE_BATCH_MS = 5;

export class DirectionRecorder {
  private readonly out: WriteStream | undefined;
  /** With --direct-io where the file system allows it: the file written around the page cache. */
  private readonly direct: DirectFile | undefined;
  private readonly fileBufferBytes: number;
  /** sha256 of the recorded file, computed when it is closed (off the forwarding path). */
  private digest = '';
  private head = Buffer.alloc(0);
  received = 0;
  written = 0;
  sent = 0;
  chunks = 0;
  firstDataAt: number | null = null;
  endedAt: number | null = null;
  endReason: EndReason = null;
  recvError: string | null = null;
  sendError: string | null = null;
  writeError: string | null = null;
  private closed: Promise<void>;
  private closing = false;
  private corked = 0;
  private batchTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: DirectionName,
    readonly file: string,
    /** File to record into; undefined forwards without recording. */
    private readonly path: string | undefined,
    /** Told once when the file refuses a write (disk full, I/O error). */
    private readonly onWriteError: (message: string) => void = () => {},
    /** Bytes the file may lag behind the network before the reader is paused. */
    fileBufferBytes = DEFAULT_FILE_BUFFER_BYTES,
    /** Replace an existing file (--force); a link in its place is removed, never written through. */
    replace = false,
    /** Write with O_DIRECT where the file system allows it (see direct-file.ts). */
    directIo = false,
  ) {
    this.fileBufferBytes = fileBufferBytes;
    if (path === undefined) {
      this.closed = Promise.resolve();
      return;
    }
    let out: WriteStream;
    try {
      if (directIo) {
        this.direct = openDirect(path, replace, {
          lagBytes: fileBufferBytes,
          batchMs: WRITE_BATCH_MS,
          onError: (message) => this.failWrite(message),
          onWritten: (n) => {
            this.written += n;
          },
        });
        if (this.direct) {
          this.closed = Promise.resolve();
          return;
        }
      }
      out = createOutputStream(path, { replace, highWaterMark: fileBufferBytes });
    } catch (e) {
      // Told after the constructor returns: the caller is still setting the connection up.
      this.closed = Promise.resolve();
      this.writeError = (e as Error).message;
      queueMicrotask(() => this.onWriteError((e as Error).message));
      return;
    }
    this.out = out;
    out.on('error', (e) => this.failWrite(e.message));
    this.closed = new Promise((resolve) => out.once('close', () => resolve()));
  }

  /** Record a received chunk; false when the file is behind (the caller pauses the reader). */
  record(chunk: Buffer, now: number): boolean {
    if (this.firstDataAt === null) this.firstDataAt = now;
    this.received += chunk.length;
    this.chunks++;
    if (this.head.length < 64) this.head = Buffer.concat([this.head, chunk.subarray(0, 64 - this.head.length)]);
    if (this.direct) {
      if (this.writeError) return true;
      this.direct.write(chunk);
      return this.direct.lag < this.direct.lagLimit;
    }
    const out = this.out;
    if (!out || this.writeError) return true;
    const n = chunk.length;
    if (this.corked === 0) {
      out.cork();
      this.batchTimer = setTimeout(() => this.flushBatch(), WRITE_BATCH_MS);
    }
    this.corked += n;
    const ok = out.write(chunk, (err) => {
      if (err) this.failWrite(err.message);
      else this.written += n;
    });
    if (this.corked >= WRITE_BATCH_BYTES) this.flushBatch();
    return ok;
  }

  /** Write the chunks held back (one writev). */
  private flushBatch(): void {
    if (this.corked === 0) return;
    clearTimeout(this.batchTimer);
    this.corked = 0;
    this.out?.uncork();
  }

  private failWrite(message: string): void {
    if (this.writeError !== null) return;
    this.writeError = message;
    this.onWriteError(message);
  }

  /** Wait until the file has caught up. */
  drained(): Promise<void> {
    if (this.direct) return this.writeError ? Promise.resolve() : this.direct.drained();
    // Nothing drains while the batch is corked.
    this.flushBatch();
    const out = this.out;
    return new Promise((resolve) => {
      if (!out || !out.writableNeedDrain || this.writeError) return resolve();
      const done = (): void => {
        out.off('drain', done);
        out.off('error', done);
        resolve();
      };
      out.on('drain', done);
      out.on('error', done);
    });
  }

  /** This direction is recorded into a file (not a blind pipe). */
  get recording(): boolean {
    return this.path !== undefined;
  }

  /** The file is written with O_DIRECT (asked for, and the file system allows it). */
  get directIo(): boolean {
    return this.direct !== undefined;
  }

  firstBytes(): Buffer {
    return this.head;
  }

  end(reason: EndReason, now: number): void {
    if (this.endReason !== null) return;
    this.endReason = reason;
    this.endedAt = now;
  }

  async close(): Promise<void> {
    if (!this.path) return;
    if (this.direct) {
      if (this.closing) return;
      this.closing = true;
      await this.direct.close();
    } else {
      if (!this.out || this.out.closed) return;
      this.flushBatch();
      this.out.end();
      await this.closed;
    }
    // After a refused write the file may hold part of the chunk that failed: count what is there.
    if (this.writeError) this.written = Math.min(this.received, onDiskSize(this.path) ?? this.written);
    if (this.digest === '' && !this.writeError) {
      const h = createHash('sha256');
      for await (const c of createReadStream(this.path, { highWaterMark: 1024 * 1024 })) h.update(c as Buffer);
      this.digest = h.digest('hex');
    }
  }

  stats(): DirectionStats {
    return {
      file: this.file,
      bytes_received: this.received,
      bytes_written: this.written,
      bytes_sent: this.sent,
      bytes_not_written: this.recording ? this.received - this.written : 0,
      bytes_not_forwarded: this.received - this.sent,
      file_size: this.written,
      // Without a file (a blind proxy) only received = forwarded can be shown.
      recorded_equals_forwarded: this.received === this.sent && (!this.recording || (this.received === this.written && this.writeError === null)),
      chunks: this.chunks,
      first_data_at: this.firstDataAt,
      ended_at: this.endedAt,
      end_reason: this.endReason,
      recv_error: this.recvError,
      send_error: this.sendError,
      write_error: this.writeError,
      sha256: this.digest,
      head_hex: this.head.toString('hex'),
    };
  }
}

/** Size of the regular file at `path` (a link is not followed), if there is one. */
function onDiskSize(path: string): number | undefined {
  try {
    const st = lstatSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}
