/**
 * One direction of one proxied connection: every byte received is written to
 * its file and forwarded, and the three counts are kept so the recording can
 * prove it lost nothing (received = written = forwarded).
 */
import { lstatSync } from 'node:fs';
import { sha256OfFile, type Direction, type DirectionStats, type EndReason } from '@migwire/capture';
import { PageCacheFile, WRITE_BATCH_MS } from './page-cache-file.js';
import { DirectFile, openDirect } from './direct-file.js';
import type { RecordingFile } from './recording-file.js';
import type { Slab } from './read-slabs.js';

export type DirectionName = Direction;
export type { DirectionStats, EndReason };

/**
 * How far a recording file may lag behind the network before the reader is paused. 1 MiB paused
 * the readers so often on a 2-core machine that recording ran at ~60% of a blind pipe; 8 MiB per
 * direction gives ~80% (pnpm bench) and still bounds what a stalled disk can make us hold.
 */
export const DEFAULT_FILE_BUFFER_BYTES = 8 * 1024 * 1024;

export class DirectionRecorder {
  /** The recording file (undefined: a blind pipe, or the file could not be created). */
  private readonly sink: RecordingFile | undefined;
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
  private closing: Promise<void> | undefined;

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
    if (path === undefined) return;
    const events = {
      onError: (message: string) => this.failWrite(message),
      onWritten: (n: number) => {
        this.written += n;
      },
    };
    try {
      this.sink = (directIo ? openDirect(path, replace, { ...events, lagBytes: fileBufferBytes, batchMs: WRITE_BATCH_MS }) : undefined) ?? new PageCacheFile(path, replace, fileBufferBytes, events);
    } catch (e) {
      // Told after the constructor returns: the caller is still setting the connection up.
      this.writeError = (e as Error).message;
      queueMicrotask(() => this.onWriteError((e as Error).message));
    }
  }

  /**
   * Record a received chunk; false when the file is behind (the caller pauses the reader).
   * `done` is called once the file no longer needs the chunk's memory (at once when there is no file);
   * `slab`: the chunk's slab, which an O_DIRECT file writes from in place when it is aligned.
   */
  record(chunk: Buffer, now: number, done?: () => void, slab?: Slab): boolean {
    if (this.firstDataAt === null) this.firstDataAt = now;
    this.received += chunk.length;
    this.chunks++;
    if (this.head.length < 64) this.head = Buffer.concat([this.head, chunk.subarray(0, 64 - this.head.length)]);
    if (!this.sink || this.writeError) {
      done?.();
      return true;
    }
    return this.sink.write(chunk, done, slab);
  }

  private failWrite(message: string): void {
    if (this.writeError !== null) return;
    this.writeError = message;
    this.onWriteError(message);
  }

  /** Wait until the file has caught up. */
  drained(): Promise<void> {
    return this.sink && !this.writeError ? this.sink.drained() : Promise.resolve();
  }

  /** This direction is recorded into a file (not a blind pipe). */
  get recording(): boolean {
    return this.path !== undefined;
  }

  /** The file is written with O_DIRECT (asked for, and the file system allows it). */
  get directIo(): boolean {
    return this.sink instanceof DirectFile;
  }

  firstBytes(): Buffer {
    return this.head;
  }

  end(reason: EndReason, now: number): void {
    if (this.endReason !== null) return;
    this.endReason = reason;
    this.endedAt = now;
  }

  /** Close the file, then count and hash what it holds; every caller waits for the one closing. */
  close(): Promise<void> {
    return (this.closing ??= this.finish());
  }

  private async finish(): Promise<void> {
    if (!this.path || !this.sink) return;
    await this.sink.close();
    // After a refused write the file may hold part of the chunk that failed: count what is there.
    if (this.writeError) this.written = Math.min(this.received, onDiskSize(this.path) ?? this.written);
    // On a worker for a large file: other connections may still be forwarding on this thread
    // (multifd channels close at the postcopy switch while main carries every page after it).
    if (this.digest === '' && !this.writeError) this.digest = (await sha256OfFile(this.path)).sha256;
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
