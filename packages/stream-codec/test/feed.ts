/** Feeding helpers: the same bytes in different chunkings must decode to the same records. */
import { CodecError, MainStreamDecoder, MultifdDecoder, ReturnPathDecoder, type MainDecoderOptions } from '../src/index.js';

type AnyDecoder = MainStreamDecoder | MultifdDecoder | ReturnPathDecoder;

export interface FeedResult<R> {
  records: R[];
  error?: CodecError;
}

/** Feed `bytes` cut at the given sizes (cycled), then end. */
export function feed<R>(dec: AnyDecoder, bytes: Uint8Array, sizes: number[] | ((i: number) => number)): FeedResult<R> {
  const records: R[] = [];
  const sink = (r: unknown): void => {
    records.push(r as R);
  };
  const size = typeof sizes === 'function' ? sizes : (i: number) => sizes[i % sizes.length]!;
  try {
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const n = Math.max(1, size(i));
      (dec as MainStreamDecoder).write(bytes.subarray(at, at + n), sink);
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

/** Records without their page-data views, for comparing decodes of differently chunked input. */
export function fingerprint(records: unknown[]): string {
  return JSON.stringify(records, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
}
