/**
 * Page compression for multifd payloads, one compressor per channel.
 * - zlib: one zlib stream per channel for the whole migration, each packet's pages ending in a
 *   flush, as QEMU's destination inflates it (one z_stream per channel, continued packet by packet).
 * - zstd: one complete frame per packet; the destination's zstd stream decoder reads
 *   consecutive frames as one stream.
 */
import { Deflate, Z_NO_FLUSH, Z_SYNC_FLUSH } from 'pako';
import { compress as zstdCompress, init as zstdInit } from '@bokuweb/zstd-wasm';

export type PayloadCompression = 'none' | 'zlib' | 'zstd';

export interface PageCompressor {
  /** The payload for these pages (in order) as parts, ready to follow the packet header. */
  compress(pages: readonly Uint8Array[]): Uint8Array[];
}

let zstdReady: Promise<void> | undefined;

/** zstd runs in WebAssembly: call once before making zstd compressors. */
export function prepareCompression(method: PayloadCompression): Promise<void> {
  if (method !== 'zstd') return Promise.resolve();
  zstdReady ??= zstdInit();
  return zstdReady;
}

class NoCompression implements PageCompressor {
  // The pages themselves: the sink gathers them, so nothing is copied here.
  compress(pages: readonly Uint8Array[]): Uint8Array[] {
    return [...pages];
  }
}

class ZlibChannel implements PageCompressor {
  readonly #deflate = new Deflate({ level: 1 });

  compress(pages: readonly Uint8Array[]): Uint8Array[] {
    const d = this.#deflate;
    d.chunks = [];
    // A full sync flush after the last page: every byte of the packet's pages is in its payload.
    pages.forEach((p, i) => d.push(p, i === pages.length - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH));
    if (d.err) throw new Error(`zlib: ${d.msg}`);
    return d.chunks;
  }
}

class ZstdFrames implements PageCompressor {
  compress(pages: readonly Uint8Array[]): Uint8Array[] {
    return [zstdCompress(pages.length === 1 ? pages[0]! : Buffer.concat(pages), 1)];
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
