/**
 * Multifd wire bytes for one channel: the init message, page packets (normal pages first, then
 * zero pages, at most one packet's worth) and SYNC packets, in the layout of the destination's
 * QEMU version:
 * - '10.0' (9.0 and later): zero pages travel as offsets in the packet; pages_alloc is the page
 *   count per packet, but 0 in a SYNC packet (readers tell the layout by that); every
 *   packet that carries pages (normal or zero) has the compression flag, a SYNC packet has none.
 * - '7.2': no zero pages in packets; pages_alloc always the page count; only packets with
 *   normal pages carry the compression flag (the destination only decompresses those).
 */
import { MULTIFD_MAGIC, MULTIFD_PACKET_SIZE, MULTIFD_VERSION, MULTIFD_FLAG_SYNC } from './constants.js';
import { COMPRESSION_FLAG, pageCompressor, type PageCompressor, type PayloadCompression } from './compression.js';
import { encodeMultifdRecordParts } from './encoder.js';
import type { MultifdLayout } from './records.js';
import type { U64 } from '../core/bytes.js';

const ZERO_RESERVED = new Uint8Array(32);
const EMPTY = new Uint8Array(0);

export interface PacketPages {
  packetNum: U64;
  block: string;
  /** Normal pages: offset and the page's bytes. */
  normal: ReadonlyArray<{ offset: number; data: Uint8Array }>;
  zero: readonly number[];
}

export interface PacketBuilderOptions {
  layout: MultifdLayout;
  /** zstd: await prepareCompression('zstd') before building. */
  compression: PayloadCompression;
  pageSize?: number;
}

export class MultifdPacketBuilder {
  readonly #layout: MultifdLayout;
  readonly #compression: PayloadCompression;
  readonly #compressor: PageCompressor;
  readonly #pageSize: number;
  readonly #pagesPerPacket: number;
  readonly #zeroOffsets: Uint8Array;
  readonly #blockFields = new Map<string, Uint8Array>();

  constructor(o: PacketBuilderOptions) {
    this.#layout = o.layout;
    this.#compression = o.compression;
    this.#compressor = pageCompressor(o.compression);
    this.#pageSize = o.pageSize ?? 4096;
    this.#pagesPerPacket = MULTIFD_PACKET_SIZE / this.#pageSize;
    this.#zeroOffsets = new Uint8Array(8 * this.#pagesPerPacket);
  }

  #blockField(block: string): Uint8Array {
    let f = this.#blockFields.get(block);
    if (!f) {
      f = new Uint8Array(256);
      for (let i = 0; i < Math.min(block.length, 255); i++) f[i] = block.charCodeAt(i) & 0xff;
      this.#blockFields.set(block, f);
    }
    return f;
  }

  init(channelId: number, uuid: Uint8Array): Uint8Array[] {
    return encodeMultifdRecordParts({ kind: 'multifd-init', magic: MULTIFD_MAGIC, version: MULTIFD_VERSION, uuid, channelId, reserved: new Uint8Array(39) }, this.#pageSize);
  }

  /** Header and payload of one page packet. */
  pages(p: PacketPages): Uint8Array[] {
    const count = p.normal.length + p.zero.length;
    if (count === 0 || count > this.#pagesPerPacket) throw new RangeError(`a multifd packet holds 1..${this.#pagesPerPacket} pages, not ${count}`);
    if (this.#layout === '7.2' && p.zero.length) throw new RangeError('7.2 multifd packets carry no zero pages');
    const payload = p.normal.length ? this.#compressor.compress(p.normal.map((x) => x.data)) : [];
    const flagged = this.#layout === '10.0' || p.normal.length > 0;
    return this.#packet({
      flags: flagged ? COMPRESSION_FLAG[this.#compression] : 0,
      packetNum: p.packetNum,
      block: p.block,
      normalOffsets: p.normal.map((x) => x.offset),
      zeroOffsets: [...p.zero],
      payload,
    });
  }

  sync(packetNum: U64): Uint8Array[] {
    return this.#packet({ flags: MULTIFD_FLAG_SYNC, packetNum, block: '', normalOffsets: [], zeroOffsets: [], payload: [] });
  }

  #packet(f: { flags: number; packetNum: U64; block: string; normalOffsets: number[]; zeroOffsets: number[]; payload: Uint8Array[] }): Uint8Array[] {
    let size = 0;
    for (const part of f.payload) size += part.length;
    // The header alone (empty payload), then the payload's parts as they are.
    const [header] = encodeMultifdRecordParts(
      {
        kind: 'multifd-packet',
        layout: this.#layout,
        magic: MULTIFD_MAGIC,
        version: MULTIFD_VERSION,
        flags: f.flags,
        sync: (f.flags & MULTIFD_FLAG_SYNC) !== 0,
        compression: 'none',
        // Page packets give the page count per packet; a 10.0 SYNC packet leaves it 0 (7.2 fills it in).
        pagesAlloc: this.#layout === '7.2' || f.normalOffsets.length + f.zeroOffsets.length > 0 ? this.#pagesPerPacket : 0,
        normalPages: f.normalOffsets.length,
        zeroPages: f.zeroOffsets.length,
        nextPacketSize: size,
        packetNum: f.packetNum,
        block: f.block,
        normalOffsets: f.normalOffsets,
        zeroOffsets: f.zeroOffsets,
        // Fresh fixed areas: zeros, and the block name NUL-padded (the field values win over them).
        raw: { reserved: ZERO_RESERVED, ramblock: this.#blockField(f.block), offsets: this.#zeroOffsets },
        payload: EMPTY,
      },
      this.#pageSize,
    );
    return [header!, ...f.payload];
  }
}
