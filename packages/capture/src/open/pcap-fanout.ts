/**
 * One pass over a packet capture feeding several channels at once. Whichever reader pulls drives
 * the pass; bytes of the other channels wait in memory up to a per-channel limit and beyond it in
 * an unlinked temporary file, so readers may run concurrently (nothing spills) or one after the
 * other (later ones read back what spilled) in bounded memory, and the file is parsed once.
 * Should the spill fail (a full disk), that channel alone is read again from the file later,
 * from where its kept bytes end.
 */
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureEvent } from '@migwire/pcap';
import { skipBytes } from './byte-source.js';

/** Bytes of one channel held in memory before the rest goes to its spill file. */
export const FANOUT_MEMORY_BYTES = 4 << 20;
const SPILL_READ = 1 << 20;

/** Where one wanted stream's data comes from: connection index in the file, and side. */
export interface FanoutTarget {
  connection: number;
  side: 'a' | 'b';
  /** What a hole at `offset` (`length` bytes, `reason`) ends the stream with. */
  holeError(offset: number, length: number, reason: 'lost' | 'snaplen'): Error;
  /** A pass of its own over the file (the fallback when spilling fails). */
  reread(): AsyncIterable<Uint8Array>;
}

type Item = Uint8Array | Error;

/** A temporary file (already unlinked) holding bytes in order until they are read back. */
class Spill {
  private readonly fd: number;
  private written = 0;
  private read = 0;

  constructor() {
    const path = join(tmpdir(), `migwire-spill-${process.pid}-${Math.random().toString(36).slice(2)}`);
    this.fd = openSync(path, 'w+', 0o600);
    unlinkSync(path); // nothing to clean up, whatever happens
  }

  get pending(): number {
    return this.written - this.read;
  }

  write(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) at += writeSync(this.fd, bytes, at, bytes.length - at, this.written + at);
    this.written += bytes.length;
  }

  take(): Uint8Array {
    const b = Buffer.allocUnsafe(Math.min(SPILL_READ, this.pending));
    const n = readSync(this.fd, b, 0, b.length, this.read);
    this.read += n;
    if (this.pending === 0) this.read = this.written = 0; // drained: reuse from the start
    return b.subarray(0, n);
  }

  close(): void {
    closeSync(this.fd);
  }
}

class Lane {
  /** Items in memory come before anything in the spill; while the spill holds bytes, new bytes go there. */
  readonly queue: Item[] = [];
  queued = 0;
  spill: Spill | undefined;
  /** A hole (or failure) to throw once the bytes before it are read. */
  failure: Error | undefined;
  stopped = false;
  /** Its connection ended: nothing more will come. */
  ended = false;
  closed = false;
  /** Bytes taken in (memory or spill) so far. */
  taken = 0;
  /** The spill failed: after the kept bytes, read the stream again skipping `taken` bytes. */
  reread = false;

  constructor(readonly target: FanoutTarget) {}

  push(bytes: Uint8Array): void {
    if (this.closed || this.stopped || this.reread) return;
    if (!this.spill?.pending && this.queued + bytes.length <= FANOUT_MEMORY_BYTES) {
      this.queue.push(bytes);
      this.queued += bytes.length;
    } else {
      try {
        (this.spill ??= new Spill()).write(bytes);
      } catch {
        this.reread = true;
        return;
      }
    }
    this.taken += bytes.length;
  }

  /** The next item already here, or undefined. */
  shift(): Item | undefined {
    const item = this.queue.shift();
    if (item instanceof Uint8Array) this.queued -= item.length;
    if (item) return item;
    if (this.spill?.pending) return this.spill.take();
    if (this.failure) {
      const f = this.failure;
      this.failure = undefined;
      return f;
    }
    return undefined;
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queued = 0;
    this.spill?.close();
    this.spill = undefined;
  }
}

/**
 * Streams of every target from one pass over `events` (tcpEvents selecting just these connections).
 * `wrap` turns a failure of the pass into the error each reader sees.
 */
export function fanOut(events: AsyncIterable<CaptureEvent>, targets: FanoutTarget[], wrap: (e: unknown) => Error): AsyncIterable<Uint8Array>[] {
  const lanes = targets.map((t) => new Lane(t));
  const byKey = new Map(lanes.map((l) => [`${l.target.connection}${l.target.side}`, l]));
  const it = events[Symbol.asyncIterator]();
  let done = false;
  let passError: Error | undefined;
  let pumping: Promise<void> | undefined;

  /** Advance the pass until `lane` has something (or the pass ended). */
  const step = async (lane: Lane): Promise<void> => {
    while (!done && !lane.ended && !lane.queue.length && !lane.spill?.pending && !lane.failure && !lane.reread) {
      let next: IteratorResult<CaptureEvent>;
      try {
        next = await it.next();
      } catch (e) {
        passError = wrap(e);
        done = true;
        break;
      }
      if (next.done) {
        done = true;
        break;
      }
      const e = next.value;
      if (e.kind === 'end') {
        // The connection closed: its streams end here, not at the end of the file.
        for (const side of ['a', 'b']) {
          const l = byKey.get(`${e.connection}${side}`);
          if (l) l.ended = l.stopped = true;
        }
        continue;
      }
      if (e.kind !== 'stream') continue;
      const l = byKey.get(`${e.connection}${e.from}`);
      if (!l || l.stopped || l.reread) continue;
      if (e.event.kind === 'data') l.push(e.event.bytes);
      else if (e.event.kind === 'hole') {
        l.failure = l.target.holeError(e.event.offset, e.event.length, e.event.reason);
        l.stopped = true;
      }
    }
  };

  const finishIfAllClosed = (): void => {
    if (!done && lanes.every((l) => l.closed)) {
      done = true;
      void it.return?.(undefined);
    }
  };

  return lanes.map((lane) => ({
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      let fallback: AsyncIterator<Uint8Array> | undefined;
      return {
        async next(): Promise<IteratorResult<Uint8Array>> {
          for (;;) {
            if (fallback) return fallback.next();
            if (lane.closed) return { done: true, value: undefined };
            const item = lane.shift();
            if (item instanceof Error) {
              lane.close();
              finishIfAllClosed();
              throw item;
            }
            if (item) return { done: false, value: item };
            if (lane.reread) {
              fallback = skipBytes(lane.target.reread(), lane.taken)[Symbol.asyncIterator]();
              lane.close();
              finishIfAllClosed();
              continue;
            }
            if (done || lane.ended) {
              lane.close();
              finishIfAllClosed();
              if (passError) throw passError;
              return { done: true, value: undefined };
            }
            // One pump at a time: a reader waiting on another's pump looks again afterwards.
            const p = (pumping ??= step(lane).finally(() => (pumping = undefined)));
            await p;
          }
        },
        async return(): Promise<IteratorResult<Uint8Array>> {
          await fallback?.return?.();
          lane.close();
          finishIfAllClosed();
          return { done: true, value: undefined };
        },
      };
    },
  }));
}
