/**
 * One input through the decoder of its channel, in random chunk sizes. The result says how it
 * ended (records, or the CodecError's code) and how many bytes the decoder held at most; anything
 * thrown that is not a CodecError propagates: that is a bug the campaign reports.
 */
import { CodecError, MultifdPageDecoder, decoderFor, type CodecRecord, type Decoder } from '@migwire/stream-codec';
import { performance } from 'node:perf_hooks';
import type { Prng } from '../prng.js';
import type { CodecSeed } from './seeds.js';

export interface FeedResult {
  records: number;
  /** Code of the CodecError that stopped the decoder; undefined when it decoded to the end. */
  code?: string;
  /** The error, for offset checks. */
  error?: CodecError;
  /** Multifd only: packets whose pages were produced, and the page decoder's error code. */
  pagePackets?: number;
  pageCode?: string;
  /** Milliseconds spent in MultifdPageDecoder (inflating), to tell a slow codec from a slow inflater. */
  pageMs?: number;
  maxHeld: number;
  /** The decoder that failed, to check that reset() gives a working one. */
  failed?: Decoder;
}

/** Chunk sizes: whole, large, page-ish, small, tiny: every state boundary gets split somewhere. */
export function* chunks(bytes: Uint8Array, prng: Prng): Generator<Uint8Array> {
  const mode = prng.int(20);
  const max = mode < 5 ? bytes.length : mode < 10 ? 65536 : mode < 15 ? 4096 : mode < 19 ? 512 : 16;
  let at = 0;
  while (at < bytes.length) {
    const n = Math.max(1, Math.min(bytes.length - at, max === bytes.length ? max : 1 + prng.int(max)));
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

/** Feed `bytes` in chunks, then end; a CodecError is the outcome, anything else propagates. */
function run(dec: Decoder, bytes: Uint8Array, prng: Prng, sink: (r: CodecRecord) => void): { maxHeld: number; error?: CodecError } {
  let maxHeld = 0;
  try {
    for (const c of chunks(bytes, prng)) {
      dec.write(c, sink);
      if (dec.pending > maxHeld) maxHeld = dec.pending;
    }
    dec.end(sink);
    return { maxHeld };
  } catch (e) {
    if (e instanceof CodecError) return { maxHeld, error: e };
    throw e;
  }
}

function result(records: number, dec: Decoder, r: { maxHeld: number; error?: CodecError }): FeedResult {
  return { records, maxHeld: r.maxHeld, ...(r.error ? { code: r.error.code, error: r.error, failed: dec } : {}) };
}

/** `pages`: also produce the pages of multifd packets (zlib/zstd inflation is most of the cost). */
export function feedInput(cs: CodecSeed, bytes: Uint8Array, prng: Prng, pages = true): FeedResult {
  let records = 0;
  const count = (): void => {
    records++;
  };
  const dec = decoderFor(cs.seed.channel, { limits: cs.limits });
  if (cs.seed.channel !== 'multifd') {
    const r = run(dec, bytes, prng, count);
    return result(records, dec, r);
  }
  const pageDecoder = pages ? new MultifdPageDecoder() : undefined;
  let pagePackets = 0;
  let pageCode: string | undefined;
  let pageMs = 0;
  const sink = (r: CodecRecord): void => {
    records++;
    if (!pageDecoder || r.kind !== 'multifd-packet' || pageCode !== undefined || r.normalPages === 0) return;
    const t0 = performance.now();
    try {
      pageDecoder.pages(r);
      pagePackets++;
    } catch (e) {
      // The page decoder's typed error: its stream state is gone, so later packets are not fed.
      if (e instanceof CodecError) pageCode = e.code;
      else throw e;
    } finally {
      pageMs += performance.now() - t0;
    }
  };
  const r = run(dec, bytes, prng, sink);
  return { ...result(records, dec, r), pagePackets, pageMs, ...(pageCode !== undefined ? { pageCode } : {}) };
}

/** After an error: reset() must give a decoder that decodes the seed itself to the end. */
export function resetDecodesSeed(failed: Decoder, seed: Uint8Array): string | undefined {
  const dec = failed.reset();
  const sink = (): void => {};
  try {
    dec.write(seed, sink);
    dec.end(sink);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
