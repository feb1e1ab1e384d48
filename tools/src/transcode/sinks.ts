/**
 * Where transcoded bytes go: one ByteSink per output channel. Writes are gathered into large
 * buffers; `ready()` lets the producer wait while a socket is behind, so nothing is buffered
 * without bound.
 */
import type { Socket } from 'node:net';
import { TranscodeError } from './errors.js';

export interface ByteSink {
  readonly name: string;
  /** Bytes handed over so far. */
  readonly bytes: number;
  write(parts: readonly Uint8Array[]): void;
  /** Undefined when the sink can take more now; otherwise resolves when it can. */
  ready(): Promise<void> | undefined;
  /** Flush and half-close. */
  end(): void;
}

const GATHER_BYTES = 256 * 1024;

/** A socket: gathered writes, backpressure from the socket's own buffer, typed errors. */
export class SocketSink implements ByteSink {
  bytes = 0;
  /** Bytes handed to the socket (the rest is still gathered here). */
  #flushed = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #error: Error | undefined;
  #closed = false;

  constructor(
    readonly name: string,
    readonly socket: Socket,
    /** How long a full socket may stay full before the destination counts as stalled (ms). */
    private readonly stallMs = 60_000,
  ) {
    socket.on('error', (e) => {
      this.#error ??= e;
    });
    socket.on('close', () => {
      this.#closed = true;
    });
  }

  /** Bytes given to this sink that the destination has not taken (gathered here or queued in the socket). */
  get stuck(): number {
    return this.#pendingBytes + (this.socket.destroyed ? 0 : this.socket.writableLength);
  }

  /** The socket's error, if it had one (a reset, a refused write). */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Why this channel cannot take more, if it cannot. */
  failure(): TranscodeError | undefined {
    if (!this.#error && !this.#closed) return undefined;
    const why = this.#error ? `: ${this.#error.message}` : '';
    return new TranscodeError('DESTINATION_CLOSED', `the destination closed the channel after ${this.#flushed} bytes${why}`, { channel: this.name, offset: this.#flushed });
  }

  write(parts: readonly Uint8Array[]): void {
    const f = this.failure();
    if (f) throw f;
    for (const p of parts) {
      if (p.length === 0) continue;
      this.#pending.push(p);
      this.#pendingBytes += p.length;
      this.bytes += p.length;
    }
    if (this.#pendingBytes >= GATHER_BYTES) this.flush();
  }

  flush(): void {
    if (this.#pendingBytes === 0 || this.failure()) return;
    const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#flushed += this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.socket.write(buf);
  }

  ready(): Promise<void> | undefined {
    this.flush();
    const f = this.failure();
    if (f) return Promise.reject(f);
    if (!this.socket.writableNeedDrain) return undefined;
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.socket.off('drain', done);
        this.socket.off('close', done);
        const failed = this.failure();
        if (failed) reject(failed);
        else resolve();
      };
      const timer = setTimeout(() => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        reject(new TranscodeError('DESTINATION_STALLED', `the destination read nothing more for ${this.stallMs} ms`, { channel: this.name, offset: this.#flushed - this.socket.writableLength }));
      }, this.stallMs);
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  end(): void {
    this.flush();
    if (!this.failure()) this.socket.end();
  }
}

/** Counts and drops (benchmarks). */
export class DiscardSink implements ByteSink {
  bytes = 0;
  constructor(readonly name: string) {}
  write(parts: readonly Uint8Array[]): void {
    for (const p of parts) this.bytes += p.length;
  }
  ready(): undefined {
    return undefined;
  }
  end(): void {}
}
