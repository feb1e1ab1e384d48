/**
 * A small QMP (QEMU Machine Protocol) client over a unix socket.
 *
 * QMP is newline-delimited JSON: the server first sends a greeting `{"QMP": {...}}`, the client
 * must send `qmp_capabilities` before anything else, then each command `{"execute", "arguments",
 * "id"}` gets exactly one `{"return": ..., "id"}` or `{"error": {"class", "desc"}, "id"}`.
 * Asynchronous events `{"event", "data", "timestamp"}` may arrive at any time.
 *
 * Optional transcript: every message sent and received is appended to a JSONL file as
 * `{"t": seconds since the clock's zero, "dir": "send" | "recv", "msg": {...}}` (the format of the
 * shared captures' qmp-src.jsonl / qmp-dst.jsonl).
 */

import { appendFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** Error returned by QEMU for a command: `{"error": {"class", "desc"}}`. */
export class QmpError extends Error {
  override readonly name = 'QmpError';
  constructor(
    /** The command that failed. */
    readonly command: string,
    /** QEMU's error class, e.g. `GenericError`, `CommandNotFound`, `DeviceNotFound`. */
    readonly errorClass: string,
    /** QEMU's human-readable description. */
    readonly desc: string,
    readonly args?: Record<string, unknown>,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
  }
}

/** The connection closed (QEMU exited) or a command timed out. */
export class QmpConnectionError extends Error {
  override readonly name = 'QmpConnectionError';
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
  /** Local receive time, seconds since the clock's zero. */
  t: number;
}

export interface QmpGreeting {
  QMP: {
    version: { qemu: { major: number; minor: number; micro: number }; package: string };
    capabilities: string[];
  };
}

/** A monotonic clock with a zero point shared by transcripts and timelines. */
export class Clock {
  readonly zeroMs: number;
  readonly zeroUnix: number;
  constructor() {
    this.zeroMs = performance.now();
    this.zeroUnix = Date.now() / 1000;
  }
  /** Seconds since zero, microsecond resolution. */
  now(): number {
    return Math.round((performance.now() - this.zeroMs) * 1000) / 1e6;
  }
}

export interface QmpConnectOptions {
  /** Give up connecting after this long (QEMU creates the socket shortly after start). Default 10 s. */
  timeoutMs?: number;
  /** Append a JSONL transcript to this file. */
  transcript?: string;
  /** Clock for transcript and event times. Default: a new clock. */
  clock?: Clock;
  /** Prefix for command ids. Default 'mw'. */
  idPrefix?: string;
  /** Called before each connection attempt; return false to stop retrying (e.g. QEMU exited). */
  shouldRetry?: () => boolean;
}

interface Pending {
  command: string;
  args: Record<string, unknown> | undefined;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class QmpClient {
  readonly events: QmpEvent[] = [];
  greeting!: QmpGreeting;
  readonly clock: Clock;
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly eventWaiters = new Set<(e: QmpEvent) => void>();
  private closedError: Error | null = null;
  private greetingWaiter: ((g: QmpGreeting) => void) | null = null;
  private readonly closeWaiters: (() => void)[] = [];

  private constructor(
    private readonly sock: Socket,
    private readonly transcript: string | undefined,
    clock: Clock,
    private readonly idPrefix: string,
  ) {
    this.clock = clock;
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', (e) => this.onClose(e));
    sock.on('close', () => this.onClose(null));
  }

  /**
   * Connect to QEMU's QMP unix socket (retrying until it exists), read the greeting and
   * negotiate capabilities.
   */
  static async connect(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    const clock = opts.clock ?? new Clock();
    let lastErr: unknown;
    for (;;) {
      if (opts.shouldRetry && !opts.shouldRetry()) {
        throw new QmpConnectionError(`QMP connect to ${path} abandoned: ${String(lastErr ?? 'process gone')}`);
      }
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = netConnect(path);
          s.once('connect', () => {
            s.removeAllListeners('error');
            resolve(s);
          });
          s.once('error', (e) => {
            s.destroy();
            reject(e);
          });
        });
        const client = new QmpClient(sock, opts.transcript, clock, opts.idPrefix ?? 'mw');
        const remaining = Math.max(1000, deadline - Date.now());
        await client.handshake(remaining);
        return client;
      } catch (e) {
        lastErr = e;
        if (e instanceof QmpError) throw e;
        if (Date.now() >= deadline) {
          throw new QmpConnectionError(`QMP connect to ${path} timed out: ${String(e)}`);
        }
        await delay(25);
      }
    }
  }

  private async handshake(timeoutMs: number): Promise<void> {
    const greeting = await new Promise<QmpGreeting>((resolve, reject) => {
      const timer = setTimeout(() => reject(new QmpConnectionError('no QMP greeting')), timeoutMs);
      this.greetingWaiter = (g) => {
        clearTimeout(timer);
        resolve(g);
      };
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        reject(this.closedError ?? new QmpConnectionError('closed before greeting'));
      });
    });
    this.greeting = greeting;
    await this.execute('qmp_capabilities', undefined, { timeoutMs });
  }

  /** QEMU version from the greeting, e.g. "10.0.2". */
  get version(): string {
    const v = this.greeting.QMP.version.qemu;
    return `${v.major}.${v.minor}.${v.micro}`;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  private record(dir: 'send' | 'recv', msg: unknown): void {
    if (!this.transcript) return;
    appendFileSync(this.transcript, JSON.stringify({ t: this.clock.now(), dir, msg }) + '\n');
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line === '') continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.record('recv', { unparsed: line });
        continue;
      }
      this.record('recv', msg);
      this.dispatch(msg);
    }
  }

  private dispatch(msg: Record<string, unknown>): void {
    if ('QMP' in msg) {
      const w = this.greetingWaiter;
      this.greetingWaiter = null;
      w?.(msg as unknown as QmpGreeting);
      return;
    }
    if (typeof msg.event === 'string') {
      const ev: QmpEvent = {
        event: msg.event,
        t: this.clock.now(),
        ...(msg.data !== undefined ? { data: msg.data as Record<string, unknown> } : {}),
        ...(msg.timestamp !== undefined ? { timestamp: msg.timestamp as QmpEvent['timestamp'] & object } : {}),
      };
      this.events.push(ev);
      for (const w of [...this.eventWaiters]) w(ev);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const p = id !== undefined ? this.pending.get(id) : undefined;
    if (!p || id === undefined) return; // unsolicited reply: ignore
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if ('error' in msg) {
      const err = (msg.error ?? {}) as { class?: string; desc?: string };
      p.reject(new QmpError(p.command, err.class ?? 'Unknown', err.desc ?? JSON.stringify(msg.error), p.args));
    } else {
      p.resolve(msg.return);
    }
  }

  private onClose(err: Error | null): void {
    if (this.closedError) return;
    this.closedError = new QmpConnectionError(`QMP connection closed${err ? `: ${err.message}` : ''}`);
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(this.closedError);
    }
    this.pending.clear();
    for (const w of this.closeWaiters.splice(0)) w();
  }

  /**
   * Run a command and return its `return` value. Throws QmpError with QEMU's error class and
   * description, or QmpConnectionError if the connection closes or the timeout (default 30 s)
   * expires.
   */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    opts: { timeoutMs?: number } = {},
  ): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = `${this.idPrefix}-${this.nextId++}`;
    const msg: Record<string, unknown> = { execute: command, id };
    if (args !== undefined) msg.arguments = args;
    return new Promise<T>((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? 30_000;
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(new QmpConnectionError(`QMP ${command} timed out after ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      this.pending.set(id, { command, args, resolve: resolve as (v: unknown) => void, reject, timer });
      this.record('send', msg);
      this.sock.write(JSON.stringify(msg) + '\n');
    });
  }

  /**
   * Wait for an event (already received ones after index `since` count too).
   * Resolves with the event or rejects on timeout / close.
   */
  waitEvent(
    name: string,
    opts: { timeoutMs?: number; since?: number; match?: (e: QmpEvent) => boolean } = {},
  ): Promise<QmpEvent> {
    const match = (e: QmpEvent) => e.event === name && (!opts.match || opts.match(e));
    const seen = this.events.slice(opts.since ?? 0).find(match);
    if (seen) return Promise.resolve(seen);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.eventWaiters.delete(w);
        reject(new QmpConnectionError(`timed out waiting for QMP event ${name}`));
      }, opts.timeoutMs ?? 30_000);
      const w = (e: QmpEvent) => {
        if (!match(e)) return;
        clearTimeout(timer);
        this.eventWaiters.delete(w);
        resolve(e);
      };
      this.eventWaiters.add(w);
      this.closeWaiters.push(() => {
        if (!this.eventWaiters.delete(w)) return;
        clearTimeout(timer);
        reject(this.closedError ?? new QmpConnectionError('closed'));
      });
    });
  }

  /** Resolves when the connection is closed (e.g. after `quit`). */
  waitClosed(timeoutMs = 5000): Promise<boolean> {
    if (this.closedError) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Close our end. Pending commands fail with QmpConnectionError. */
  close(): void {
    this.sock.destroy();
    this.onClose(null);
  }
}
