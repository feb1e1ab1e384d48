import { createHash } from 'node:crypto';
/** Feeding helpers: the same bytes in different chunkings must decode to the same records. */
import { CodecError, MainStreamDecoder, MultifdDecoder, ReturnPathDecoder, type MainDecoderOptions } from '../src/index.js';

export type AnyDecoder = MainStreamDecoder | MultifdDecoder | ReturnPathDecoder;

export interface FeedResult<R> {
  records: R[];
  error?: CodecError;
}

export interface FeedOptions<R> {
  /**
   * Feed through one reused buffer (at most 1 MiB), calling ownPending() after each write and
   * scribbling over the buffer: what a caller that reads into the same memory again does.
   */
  reuse?: boolean;
  /** What is kept of each record, taken as it is delivered (default: the record itself). */
  keep?: (record: unknown) => R;
}

/** Feed `bytes` cut at the given sizes (cycled), then end. */
export function feed<R>(dec: AnyDecoder, bytes: Uint8Array, sizes: number[] | ((i: number) => number), o: FeedOptions<R> = {}): FeedResult<R> {
  const records: R[] = [];
  const sink = (r: unknown): void => {
    records.push(o.keep ? o.keep(r) : (r as R));
  };
  const size = typeof sizes === 'function' ? sizes : (i: number) => sizes[i % sizes.length]!;
  const reused = o.reuse ? new Uint8Array(Math.min(bytes.length, 1 << 20) || 1) : undefined;
  try {
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const n = Math.min(Math.max(1, size(i)), reused?.length ?? Infinity, bytes.length - at);
      if (reused) {
        reused.set(bytes.subarray(at, at + n));
        (dec as MainStreamDecoder).write(reused.subarray(0, n), sink);
        dec.ownPending();
        reused.fill(0xee);
      } else (dec as MainStreamDecoder).write(bytes.subarray(at, at + n), sink);
      at += n;
    }
    (dec as MainStreamDecoder).end(sink);
  } catch (e) {
    if (e instanceof CodecError) return { records, error: e };
    throw e;
  }
  return { records };
}

/** A reproducible pseudo-random generator (tests must not flake). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

export function mainDecoder(o: MainDecoderOptions = {}): MainStreamDecoder {
  return new MainStreamDecoder(o);
}

/** A record as plain JSON, byte arrays replaced by a short digest (views and copies compare equal). */
export function fingerprintOne(record: unknown): string {
  const norm = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return `bytes:${v.length}:${createHash('sha1').update(v).digest('hex')}`;
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
    return v;
  };
  return JSON.stringify(norm(record));
}

export function fingerprint(records: unknown[]): string[] {
  return records.map(fingerprintOne);
}

/** undefined when both lists hold the same records; otherwise where they first differ (short, for test output). */
export function firstDifference(a: string[], b: string[]): string | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `record ${i}: ${(a[i] ?? 'none').slice(0, 300)} vs ${(b[i] ?? 'none').slice(0, 300)}`;
  }
  return undefined;
}
