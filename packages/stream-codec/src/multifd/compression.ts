/**
 * Multifd payload compression: the flag table, and compress / decompress for the methods the
 * codec implements. Both sides keep one stream per channel, as QEMU does:
 * - zlib: one zlib stream for the whole migration, each packet's pages ending in a sync flush
 *   (QEMU's z_stream per channel). Encoding: the zlib header once, then per packet a raw deflate
 *   segment that Node's native zlib ends with a sync flush (not a final block): byte-aligned
 *   segments with no reference outside themselves make one valid stream when laid end to end,
 *   several times faster than a JS deflater (node:zlib has no synchronous streaming API to keep
 *   one compressor across packets). Decoding mirrors it: each packet's segment is inflated on its
 *   own by Node's native zlib, given the last 32 KiB of the channel's output as its dictionary
 *   (all a back-reference can reach), 5-6x pako's streaming inflate. It relies on each packet
 *   ending at a flush point, as QEMU's sender always does and its receiver needs.
 * - zstd: the source writes one complete frame per packet; a destination reads the channel's
 *   payloads as one stream (frames or flushed blocks). fzstd decodes (streaming, synchronous);
 *   @bokuweb/zstd-wasm encodes (fzstd cannot compress; zstd-wasm's decoder is one-shot only).
 */
import { createRequire } from 'node:module';
import { constants as zlibConstants, deflateRawSync, inflateRawSync } from 'node:zlib';
import type * as Fzstd from 'fzstd';
import type * as ZstdWasm from '@bokuweb/zstd-wasm';
import { concat } from '../core/bytes.js';

// The (de)compressors load on first use: most streams need none, and loading them all is a good
// part of a command's start-up. fzstd is required synchronously (the decoders are).
const requireHere = createRequire(import.meta.url);
let fzstd: typeof Fzstd | undefined;
let zstdWasm: typeof ZstdWasm | undefined;
const loadFzstd = (): typeof Fzstd => (fzstd ??= requireHere('fzstd') as typeof Fzstd);

/** Compression methods by the name QEMU's multifd-compression parameter gives them. */
export type CompressionMethod = 'none' | 'zlib' | 'zstd' | 'qpl' | 'uadk' | 'qatzip';
/** The methods this codec compresses and decompresses. */
export type PayloadCompression = 'none' | 'zlib' | 'zstd';

/** Packet flag bits of each method (QEMU migration/multifd.h, MULTIFD_FLAG_*). */
export const COMPRESSION_FLAG: Readonly<Record<CompressionMethod, number>> = {
  none: 0x00,
  zlib: 0x02,
  zstd: 0x04,
  qpl: 0x08,
  uadk: 0x10,
  qatzip: 0x20,
};

export const COMPRESSION_BY_FLAG: Readonly<Record<number, CompressionMethod>> = Object.fromEntries(
  Object.entries(COMPRESSION_FLAG).map(([name, flag]) => [flag, name as CompressionMethod]),
);

export function isPayloadCompression(m: string): m is PayloadCompression {
  return m === 'none' || m === 'zlib' || m === 'zstd';
}

export interface PageCompressor {
  /** The payload for these pages (in order) as parts, ready to follow the packet header. */
  compress(pages: readonly Uint8Array[]): Uint8Array[];
}

let zstdReady: Promise<void> | undefined;

/** zstd compresses in WebAssembly: await this once before making zstd compressors. */
export function prepareCompression(method: PayloadCompression): Promise<void> {
  if (method !== 'zstd') return Promise.resolve();
  zstdReady ??= import('@bokuweb/zstd-wasm').then((m) => {
    zstdWasm = m;
    return m.init();
  });
  return zstdReady;
}

class NoCompression implements PageCompressor {
  // The pages themselves: the caller gathers them, so nothing is copied here.
  compress(pages: readonly Uint8Array[]): Uint8Array[] {
    return [...pages];
  }
}

/** zlib header for deflate with a 32 KiB window at the fastest level (CMF 0x78, FLG 0x01). */
const ZLIB_HEADER = Uint8Array.of(0x78, 0x01);

class ZlibChannel implements PageCompressor {
  #started = false;

  compress(pages: readonly Uint8Array[]): Uint8Array[] {
    // A sync flush after the last page: every byte of the packet's pages is in its payload.
    const segment = deflateRawSync(pages.length === 1 ? pages[0]! : concat(pages), { level: 1, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    if (this.#started) return [segment];
    this.#started = true;
    return [ZLIB_HEADER, segment];
  }
}

class ZstdFrames implements PageCompressor {
  compress(pages: readonly Uint8Array[]): Uint8Array[] {
    if (!zstdWasm) throw new Error('zstd compression used before prepareCompression("zstd") resolved');
    return [zstdWasm.compress(pages.length === 1 ? pages[0]! : concat(pages), 1)];
  }
}

/** A compressor for one channel (zstd: after prepareCompression('zstd') resolved). */
export function pageCompressor(method: PayloadCompression): PageCompressor {
  switch (method) {
    case 'none':
      return new NoCompression();
    case 'zlib':
      return new ZlibChannel();
    case 'zstd':
      return new ZstdFrames();
  }
}

/** One channel's decompression stream: each push yields its output to the sink, synchronously. */
export interface PayloadInflater {
  /**
   * Throws on a corrupt stream (or whatever the sink throws). `maxOutput`: the most bytes this
   * payload may inflate to; a payload that would give more throws instead of allocating it.
   */
  push(payload: Uint8Array, maxOutput: number): void;
}

/** The farthest back a deflate match reaches: zlib's 32 KiB window. */
const DEFLATE_WINDOW = 32 * 1024;

/** Thrown by ZlibInflater when a payload inflates to more than `maxOutput`. */
export class InflateLimitExceeded extends Error {}

class ZlibInflater implements PayloadInflater {
  #started = false;
  /** The channel's last output, up to DEFLATE_WINDOW bytes: the next segment's dictionary. */
  #window: Uint8Array | undefined;

  constructor(private readonly sink: (chunk: Uint8Array) => void) {}

  push(payload: Uint8Array, maxOutput: number): void {
    let raw = payload;
    if (!this.#started) {
      // The channel's first payload opens the zlib stream: CMF, FLG (deflate, no preset dictionary).
      const cmf = payload[0] ?? 0;
      const flg = payload[1] ?? 0;
      if (payload.length < 2 || (cmf & 0x0f) !== 8 || cmf >> 4 > 7 || (cmf * 256 + flg) % 31 !== 0 || flg & 0x20) throw new Error('incorrect zlib header');
      raw = payload.subarray(2);
      this.#started = true;
    }
    let out: Buffer;
    try {
      out = inflateRawSync(raw, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, maxOutput), ...(this.#window ? { dictionary: this.#window } : {}) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new InflateLimitExceeded(`inflates to more than ${maxOutput} bytes`);
      throw e;
    }
    this.#window = windowAfter(this.#window, out);
    this.sink(out);
  }
}

/** The last DEFLATE_WINDOW bytes of `before` followed by `out`. */
function windowAfter(before: Uint8Array | undefined, out: Uint8Array): Uint8Array {
  if (out.length >= DEFLATE_WINDOW || !before) return out.subarray(Math.max(0, out.length - DEFLATE_WINDOW));
  const keep = Math.min(before.length, DEFLATE_WINDOW - out.length);
  const w = new Uint8Array(keep + out.length);
  w.set(before.subarray(before.length - keep), 0);
  w.set(out, keep);
  return w;
}

class ZstdInflater implements PayloadInflater {
  readonly #stream: Fzstd.Decompress;

  constructor(sink: (chunk: Uint8Array) => void) {
    this.#stream = new (loadFzstd().Decompress)(sink);
  }

  push(payload: Uint8Array): void {
    // fzstd may keep a view of input it has not finished with, and payloads are views of read
    // buffers a reader may reuse: it gets its own copy (compressed, so small). The sink counts
    // what comes out and stops at the packet's announced size.
    this.#stream.push(payload.slice(), false);
  }
}

/** A decompression stream for one channel's zlib or zstd payloads. */
export function payloadInflater(method: 'zlib' | 'zstd', sink: (chunk: Uint8Array) => void): PayloadInflater {
  return method === 'zlib' ? new ZlibInflater(sink) : new ZstdInflater(sink);
}

/**
 * The compression method a RAM packet shows, if it shows one: QEMU sets the method's flag only on
 * packets that carry normal pages (the opening SYNC packets and page-less packets have none).
 */
export function packetCompression(p: { normalPages: number; compression: string }): string | undefined {
  return p.normalPages > 0 ? p.compression : undefined;
}
