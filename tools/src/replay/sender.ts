/**
 * Sends one connection's recorded source-to-destination bytes: as fast as the destination takes
 * them, or each chunk at its recorded time. Reads its byte source as it goes and waits for the
 * socket to drain, so at most one chunk per connection is in memory.
 */
import type { Socket } from 'node:net';
import { ByteReader } from './byte-reader.js';
import type { ChunkSchedule, ReplayClock } from './schedule.js';

export class ChannelSender {
  /** Bytes the kernel has taken (write callbacks completed): what the destination can have seen. */
  sent = 0;
  /** Bytes handed to the socket. */
  queued = 0;
  /** Bytes handed to the socket that the kernel never took (the destination stopped reading). */
  get stuck(): number {
    return this.queued - this.sent;
  }
  error: string | null = null;
  /** The byte source failed (a hole in a packet capture, an unreadable or changed file): sending stopped there. */
  readError: Error | null = null;
  endedAt: number | null = null;
  private stopped = false;

  constructor(
    private readonly socket: Socket,
    /** The connection's bytes (ReplaySources). */
    private readonly source: AsyncIterable<Uint8Array>,
    /** Told of every chunk handed to the socket (the --out recording); sending waits for it. */
    private readonly onChunk: (chunk: Buffer) => Promise<void> | void = () => {},
    /** Aborts a wait for a chunk's recorded time. */
    private readonly signal?: AbortSignal,
  ) {
    socket.on('error', (e) => (this.error ??= e.message));
  }

  /** Stop sending (the destination failed); the current write finishes. */
  stop(): void {
    this.stopped = true;
  }

  get active(): boolean {
    return !this.stopped && this.error === null && !this.socket.destroyed && this.signal?.aborted !== true;
  }

  /** Send everything as fast as the destination reads it. */
  async sendFast(): Promise<void> {
    await this.reading(async (r) => {
      for await (const chunk of r.rest()) if (!(await this.write(chunk))) return;
    });
  }

  /** Run `send` over the source; a failure of the source (not of the socket) is kept in readError. */
  private async reading(send: (r: ByteReader) => Promise<void>): Promise<void> {
    const r = new ByteReader(this.source);
    try {
      await send(r);
    } catch (e) {
      this.readError = e as Error;
    } finally {
      await r.close().catch(() => undefined);
    }
  }

  /**
   * Send each scheduled chunk at its recorded time (later when the destination is slower than the
   * recording), then whatever the schedule does not cover.
   */
  async sendScheduled(schedule: ChunkSchedule | undefined, clock: ReplayClock): Promise<void> {
    await this.reading(async (r) => {
      const n = schedule?.t.length ?? 0;
      for (let i = 0; i < n; i++) {
        try {
          await clock.until(schedule!.t[i]!, this.signal);
        } catch {
          return; // aborted
        }
        if (!this.active) return;
        const chunk = await r.take(schedule!.len[i]!);
        if (chunk.length === 0) return;
        if (!(await this.write(chunk))) return;
      }
      for await (const chunk of r.rest()) if (!(await this.write(chunk))) return;
    });
  }

  /** Half-close (the source's EOF), as the recording did. */
  finish(now: number): void {
    this.endedAt = now;
    if (!this.socket.destroyed) this.socket.end();
  }

  private async write(chunk: Buffer): Promise<boolean> {
    if (!this.active) return false;
    this.queued += chunk.length;
    await this.onChunk(chunk);
    const n = chunk.length;
    const s = this.socket;
    const ok = s.write(chunk, (err) => {
      if (err) this.error ??= err.message;
      else this.sent += n;
    });
    if (ok) return this.active;
    // The socket's buffer is full: wait for the kernel to take it (drain), for the socket to die,
    // or for the replay to end (a destination that never reads must not hold us past the timeout).
    const signal = this.signal;
    if (signal?.aborted) return false;
    return new Promise((resolve) => {
      const done = (): void => {
        s.off('drain', done);
        s.off('close', done);
        signal?.removeEventListener('abort', done);
        resolve(this.active);
      };
      s.on('drain', done);
      s.on('close', done);
      signal?.addEventListener('abort', done);
    });
  }
}
