/**
 * Where transcoded bytes go: one ByteSink per output channel. Writes are gathered into large
 * buffers; `ready()` lets the producer wait while a socket is behind, so nothing is buffered
 * without bound.
 */
import type { Socket } from 'node:net';

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

/** A socket: gathered writes, backpressure from the socket's own buffer. */
export class SocketSink implements ByteSink {
  bytes = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #error: Error | undefined;
  #closed = false;

  constructor(
    readonly name: string,
    readonly socket: Socket,
  ) {
    socket.on('error', (e) => {
      this.#error ??= e;
    });
    socket.on('close', () => {
      this.#closed = true;
    });
  }

  get error(): Error | undefined {
    return this.#error;
  }

  write(parts: readonly Uint8Array[]): void {
    if (this.#error) throw new Error(`${this.name}: ${this.#error.message}`);
    for (const p of parts) {
      if (p.length === 0) continue;
      this.#pending.push(p);
      this.#pendingBytes += p.length;
      this.bytes += p.length;
    }
    if (this.#pendingBytes >= GATHER_BYTES) this.flush();
  }

  flush(): void {
    if (this.#pendingBytes === 0 || this.#closed) return;
    const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.socket.write(buf);
  }

  ready(): Promise<void> | undefined {
    this.flush();
    if (this.#error) return Promise.reject(new Error(`${this.name}: ${this.#error.message}`));
    if (!this.socket.writableNeedDrain || this.#closed) return undefined;
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        if (this.#error) reject(new Error(`${this.name}: ${this.#error.message}`));
        else resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  end(): void {
    this.flush();
    if (!this.#closed) this.socket.end();
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
