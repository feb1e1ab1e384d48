/**
 * Page compression for multifd payloads, one compressor per channel.
 * - zlib: one zlib stream per channel for the whole migration, each packet's pages ending in a
 *   flush, as QEMU's destination inflates it (one z_stream per channel, continued packet by packet).
 * - zstd: one complete frame per packet; the destination's zstd stream decoder reads
 *   consecutive frames as one stream.
 */
import { Zlib } from 'fflate';
import { compress as zstdCompress, init as zstdInit } from '@bokuweb/zstd-wasm';

export type PayloadCompression = 'none' | 'zlib' | 'zstd';

export interface PageCompressor {
  /** The payload for these pages (in order), ready to follow the packet header. */
  compress(pages: readonly Uint8Array[]): Uint8Array;
}

let zstdReady: Promise<void> | undefined;

/** zstd runs in WebAssembly: call once before making zstd compressors. */
export function prepareCompression(method: PayloadCompression): Promise<void> {
  if (method !== 'zstd') return Promise.resolve();
  zstdReady ??= zstdInit();
  return zstdReady;
}

class NoCompression implements PageCompressor {
  compress(pages: readonly Uint8Array[]): Uint8Array {
    return pages.length === 1 ? pages[0]! : concat(pages);
  }
}

class ZlibChannel implements PageCompressor {
  readonly #out: Uint8Array[] = [];
  readonly #zlib = new Zlib({ level: 1 }, (chunk) => {
    this.#out.push(chunk);
  });

  compress(pages: readonly Uint8Array[]): Uint8Array {
    this.#out.length = 0;
    for (const p of pages) this.#zlib.push(p);
    this.#zlib.flush();
    return concat(this.#out);
  }
}

class ZstdFrames implements PageCompressor {
  compress(pages: readonly Uint8Array[]): Uint8Array {
    return zstdCompress(concat(pages), 1);
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

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
