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
  /**
   * The parts are valid only during the call (they are views into reused read buffers and page
   * slots): a sink copies what it keeps.
   */
  write(parts: readonly Uint8Array[]): void;
  /** Undefined when the sink can take more now; otherwise resolves when it can. */
  ready(): Promise<void> | undefined;
  /** Flush and half-close. */
  end(): void;
}

const GATHER_BYTES = 256 * 1024;
/** Gather buffers written but not yet called back before the producer lets the event loop turn. */
const MAX_IN_FLIGHT = 4;

/** A socket: writes copied into a few reused gather buffers, backpressure from the socket's own buffer, typed errors. */
export class SocketSink implements ByteSink {
  bytes = 0;
  /** Bytes handed to the socket (the rest is still gathered here). */
  #flushed = 0;
  #gather: Buffer | undefined;
  #used = 0;
  /** Gather buffers the socket is done with. */
  readonly #spare: Buffer[] = [];
  /** Gather buffers handed to the socket whose write callback has not come yet. */
  #inFlight = 0;
  #error: Error | undefined;
  #closed = false;

  constructor(
    readonly name: string,
    readonly socket: Socket,
    /** How long a full socket may stay full before the destination counts as stalled (ms). */
    private readonly stallMs = 60_000,
    /** An error the socket had before this sink took it (while other channels were opened). */
    early?: Error,
  ) {
    this.#error = early;
    if (socket.destroyed) this.#closed = true;
    socket.on('error', (e) => {
      this.#error ??= e;
    });
    socket.on('close', () => {
      this.#closed = true;
    });
  }

  /** Bytes given to this sink that the destination has not taken (gathered here or queued in the socket). */
  get stuck(): number {
    return this.#used + (this.socket.destroyed ? 0 : this.socket.writableLength);
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
      this.bytes += p.length;
      for (let at = 0; at < p.length; ) {
        const g = (this.#gather ??= this.#spare.pop() ?? this.#allocate());
        const n = Math.min(p.length - at, GATHER_BYTES - this.#used);
        g.set(n === p.length ? p : p.subarray(at, at + n), this.#used);
        this.#used += n;
        at += n;
        if (this.#used === GATHER_BYTES) this.flush();
      }
    }
  }

  /** Gather buffers made so far: a few, however many bytes pass (the rest are reused). */
  gatherBuffers = 0;

  #allocate(): Buffer {
    this.gatherBuffers++;
    return Buffer.allocUnsafe(GATHER_BYTES);
  }

  flush(): void {
    if (this.#used === 0 || this.failure()) return;
    const g = this.#gather!;
    const n = this.#used;
    this.#flushed += n;
    this.#gather = undefined;
    this.#used = 0;
    // The buffer is reused once the socket has written it (or failed: then nothing more is sent).
    this.#inFlight++;
    this.socket.write(n === GATHER_BYTES ? g : g.subarray(0, n), () => {
      this.#inFlight--;
      this.#spare.push(g);
    });
  }

  ready(): Promise<void> | undefined {
    this.flush();
    const f = this.failure();
    if (f) return Promise.reject(f);
    if (!this.socket.writableNeedDrain) {
      // The kernel took every write at once, but their callbacks (which free the gather buffers)
      // run only when the event loop turns: a producer that never waits would starve them.
      return this.#inFlight > MAX_IN_FLIGHT ? new Promise((resolve) => setImmediate(resolve)) : undefined;
    }
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
