/**
 * Incremental decoder for one multifd channel: the init message, then packets
 * (a fixed header, the offsets array, then next_packet_size payload bytes).
 * The header layout (7.2 or 9.x/10.0) is read off the bytes, never assumed.
 */
import { ChunkQueue } from '../core/chunk-queue.js';
import { CodecError, ErrorCode, hex } from '../core/errors.js';
import { bytesToLatin1, readU32, readU64Exact } from '../core/bytes.js';
import { resolveLimits, type DecoderLimits } from '../core/limits.js';
import { COMPRESSION_BY_FLAG } from './compression.js';
import {
  MULTIFD_DEVICE_STATE_HEADER_SIZE,
  MULTIFD_FLAG_COMPRESSION_MASK,
  MULTIFD_FLAG_DEVICE_STATE,
  MULTIFD_FLAG_SYNC,
  MULTIFD_INIT_SIZE,
  MULTIFD_MAGIC,
  MULTIFD_PACKET_SIZE,
  MULTIFD_RAM_HEADER_SIZE,
  MULTIFD_VERSION,
} from './constants.js';
import type { MultifdCompression, MultifdLayout, MultifdRecord } from './records.js';
import { decodeAll } from '../decoder/decode-all.js';

export type MultifdSink = (r: MultifdRecord) => void;

const NO_BYTES = new Uint8Array(0);

export interface MultifdDecoderOptions {
  /** Channel name used in errors; by default "multifd N" once the init message names N. */
  channel?: string;
  targetPageSize?: number;
  /** Known RAM blocks and their used lengths, to check page offsets (from the main channel). */
  ramBlocks?: ReadonlyArray<{ name: string; usedLength: number }>;
  /** Bounds on what the decoder holds (this one reads maxDeviceStateBytes). */
  limits?: Partial<DecoderLimits>;
  /** Packet layout, when it cannot be read off the channel's first (SYNC) packet. */
  layout?: MultifdLayout;
  /**
   * Leave payloads out of the records (they are skipped, never copied): for live checks that
   * only need the headers. Such records carry an empty payload and `payloadOmitted: true`.
   */
  omitPayloads?: boolean;
  /**
   * The consumer is done with a record's payload before the next record: a payload split across
   * received chunks is joined in one buffer reused for every packet, instead of a fresh one each
   * (half a MiB per packet of garbage otherwise).
   */
  transientPayloads?: boolean;
  /** Start with packets (the init message was consumed elsewhere). */
  skipInit?: boolean;
  /**
   * Channel count the destination was configured with: the init id must be below it, as an
   * 11.0+ destination requires (`checksMultifdInitId`). Unchecked when absent.
   */
  channels?: number;
}

export class MultifdDecoder {
  private readonly q = new ChunkQueue();
  private readonly pageSize: number;
  private readonly pageCount: number;
  private readonly blocks: Map<string, number> | undefined;
  private readonly maxDevice: number;
  private readonly omitPayloads: boolean;
  /** With transientPayloads: where split payloads are joined. */
  private joined: Uint8Array | undefined;
  private skipLeft = 0;
  private sawInit: boolean;
  private layout: MultifdLayout | undefined;
  private readonly layoutForced: boolean;
  private error: CodecError | undefined;
  channel: string;
  /** Channel id from the init message. */
  channelId: number | undefined;

  private readonly options: MultifdDecoderOptions;

  constructor(options: MultifdDecoderOptions = {}) {
    this.options = options;
    this.pageSize = options.targetPageSize ?? 4096;
    this.pageCount = MULTIFD_PACKET_SIZE / this.pageSize;
    this.channel = options.channel ?? 'multifd';
    this.maxDevice = resolveLimits(options.limits).maxDeviceStateBytes;
    this.omitPayloads = options.omitPayloads === true;
    this.sawInit = options.skipInit === true;
    this.layout = options.layout;
    this.layoutForced = options.layout !== undefined;
    if (options.ramBlocks) this.blocks = new Map(options.ramBlocks.map((b) => [b.name, b.usedLength]));
  }

  get offset(): number {
    return this.q.offset;
  }

  /** The compression of the channel's first packet with pages. */
  #method: MultifdCompression | undefined;

  /** Bytes received but not yet consumed into a record. */
  get pending(): number {
    return this.q.length;
  }

  /** Forget everything (channel id, layout, error): the decoder is usable again after an error. */
  reset(): MultifdDecoder {
    return new MultifdDecoder(this.options);
  }

  /** Bytes of header + offsets a RAM packet takes before its payload. */
  get ramHeaderLength(): number {
    return MULTIFD_RAM_HEADER_SIZE + 8 * this.pageCount;
  }

  /**
   * Bytes coming next that the decoder will pass over unread (an omitted payload, `omitPayloads`):
   * a reader that can seek may leave them unread and call skipAbsent instead of write.
   */
  get skippable(): number {
    return this.q.length === 0 && !this.error ? this.skipLeft : 0;
  }

  /** Pass over n bytes the caller did not read (n <= skippable): offsets move on as if they had come. */
  skipAbsent(n: number): void {
    if (n > this.skippable) throw new RangeError(`skipAbsent(${n}) beyond the ${this.skippable} bytes the decoder passes over`);
    this.q.advanceAbsent(n);
    this.skipLeft -= n;
  }

  /** Copy the bytes it still holds of chunks written so far (a partial record), so the caller may reuse their memory. */
  ownPending(): void {
    this.q.own();
  }

  write(chunk: Uint8Array, sink: MultifdSink): void {
    if (this.error) throw this.error;
    this.q.push(chunk);
    while (this.step(sink));
  }

  end(_sink: MultifdSink): void {
    if (this.error) throw this.error;
    if (this.q.length > 0 || !this.sawInit || this.skipLeft > 0) {
      this.fail(ErrorCode.Truncated, this.sawInit ? 'multifd channel ends inside a packet' : 'multifd channel ends before its init message', this.q.offset, 'more bytes', `${this.q.length} bytes`);
    }
  }

  private fail(code: ErrorCode, message: string, offset: number, expected?: string, found?: string): never {
    const d: ConstructorParameters<typeof CodecError>[0] = { code, channel: this.channel, role: 'multifd', offset, message };
    if (expected !== undefined) d.expected = expected;
    if (found !== undefined) d.found = found;
    this.error = new CodecError(d);
    throw this.error;
  }

  private step(sink: MultifdSink): boolean {
    const q = this.q;
    if (this.skipLeft > 0) {
      const n = Math.min(this.skipLeft, q.length);
      if (n === 0) return false;
      q.skip(n);
      this.skipLeft -= n;
      return true;
    }
    const offset = q.offset;
    if (!this.sawInit) {
      if (q.length < MULTIFD_INIT_SIZE) return false;
      const magic = q.u32(0);
      if (magic !== MULTIFD_MAGIC) this.fail(ErrorCode.BadMagic, 'multifd init message has the wrong magic', offset, hex(MULTIFD_MAGIC, 8), hex(magic, 8));
      const version = q.u32(4);
      if (version !== MULTIFD_VERSION) this.fail(ErrorCode.BadVersion, 'unknown multifd version', offset + 4, String(MULTIFD_VERSION), String(version));
      const b = q.take(MULTIFD_INIT_SIZE);
      const channelId = b[24]!;
      const channels = this.options.channels;
      if (channels !== undefined && channelId >= channels) {
        this.fail(ErrorCode.ValueOutOfRange, 'multifd init id not below the channel count', offset + 24, `< ${channels}`, String(channelId));
      }
      this.channelId = channelId;
      if (this.channel === 'multifd') this.channel = `multifd ${channelId}`;
      this.sawInit = true;
      sink({ kind: 'multifd-init', offset, length: MULTIFD_INIT_SIZE, magic, version, uuid: b.subarray(8, 24), channelId, reserved: b.subarray(25, 64) });
      return true;
    }
    if (q.length < 12) return false;
    const magic = q.u32(0);
    if (magic !== MULTIFD_MAGIC) this.fail(ErrorCode.BadMagic, 'multifd packet has the wrong magic', offset, hex(MULTIFD_MAGIC, 8), hex(magic, 8));
    const version = q.u32(4);
    if (version !== MULTIFD_VERSION) this.fail(ErrorCode.BadVersion, 'unknown multifd packet version', offset + 4, String(MULTIFD_VERSION), String(version));
    const flags = q.u32(8);
    if (flags & MULTIFD_FLAG_DEVICE_STATE) return this.stepDeviceState(sink, offset, magic, version, flags);
    return this.stepRam(sink, offset, magic, version, flags);
  }

  private stepRam(sink: MultifdSink, offset: number, magic: number, version: number, flags: number): boolean {
    const q = this.q;
    const head = this.ramHeaderLength;
    if (q.length < head) return false;
    const pagesAlloc = q.u32(12);
    const normalPages = q.u32(16);
    const nextPacketSize = q.u32(20);
    const packetNum = readU64Exact(q.peek(24, 8), 0);
    const field32 = q.u32(32);
    // Every channel opens with a SYNC packet: 7.2 fills pages_alloc in it, 9.x/10.0 write 0.
    // A 10.0 data packet may be the first one seen (a partial capture); zero pages also tell.
    if (this.layout === undefined || (this.layout === '7.2' && field32 !== 0 && !this.layoutForced)) {
      this.layout = pagesAlloc === 0 || field32 !== 0 ? '10.0' : '7.2';
    }
    const layout = this.layout;
    const zeroPages = layout === '10.0' ? field32 : 0;
    const compression: MultifdCompression = COMPRESSION_BY_FLAG[flags & MULTIFD_FLAG_COMPRESSION_MASK] ?? 'unknown';
    if (flags & ~(MULTIFD_FLAG_SYNC | MULTIFD_FLAG_COMPRESSION_MASK)) this.fail(ErrorCode.UnknownRamFlags, 'unknown multifd packet flags', offset + 8, 'SYNC | compression bits', hex(flags));
    if (compression === 'unknown') this.fail(ErrorCode.UnknownRamFlags, 'unknown multifd compression method', offset + 8, 'none, zlib, zstd, qpl, uadk or qatzip', hex(flags & MULTIFD_FLAG_COMPRESSION_MASK));
    // One method per migration: a packet of pages with another one is no packet QEMU sends (its
    // payload would be decoded wrongly), found here by every reader at the same byte.
    if (normalPages > 0) {
      if (this.#method === undefined) this.#method = compression;
      else if (compression !== this.#method) this.fail(ErrorCode.BadConfiguration, "multifd packet compressed otherwise than the channel's earlier packets", offset + 8, this.#method, compression);
    }
    if (pagesAlloc > this.pageCount) this.fail(ErrorCode.LimitExceeded, 'pages_alloc beyond the packet limit', offset + 12, `<= ${this.pageCount}`, String(pagesAlloc));
    const maxPages = normalPages + zeroPages > 0 ? pagesAlloc : this.pageCount;
    if (normalPages > maxPages) this.fail(ErrorCode.LimitExceeded, 'more normal pages than pages_alloc', offset + 16, `<= ${maxPages}`, String(normalPages));
    if (zeroPages > maxPages - normalPages) this.fail(ErrorCode.LimitExceeded, 'more zero pages than the packet holds', offset + 32, `<= ${maxPages - normalPages}`, String(zeroPages));
    // Payload length: none without normal pages (7.2 leaves a stale next_packet_size there);
    // raw pages for no compression; next_packet_size bytes of the channel's stream otherwise.
    let payloadLength = 0;
    if (normalPages === 0) {
      if (layout === '10.0' && nextPacketSize !== 0) this.fail(ErrorCode.NextPacketSize, 'next_packet_size set on a packet with no normal pages', offset + 20, '0', String(nextPacketSize));
    } else if (compression === 'none') {
      payloadLength = normalPages * this.pageSize;
      if (nextPacketSize !== payloadLength) this.fail(ErrorCode.NextPacketSize, 'next_packet_size does not match the normal pages', offset + 20, String(payloadLength), String(nextPacketSize));
    } else {
      const max = 2 * MULTIFD_PACKET_SIZE;
      if (nextPacketSize > max) this.fail(ErrorCode.LimitExceeded, 'compressed payload larger than QEMU accepts', offset + 20, `<= ${max}`, String(nextPacketSize));
      if (nextPacketSize === 0) this.fail(ErrorCode.NextPacketSize, 'no compressed payload for the normal pages', offset + 20, '> 0', '0');
      payloadLength = nextPacketSize;
    }
    const hdr = q.peek(0, head);
    const ramblock = hdr.subarray(64, 320);
    const nul = ramblock.indexOf(0);
    const block = bytesToLatin1(ramblock.subarray(0, nul < 0 ? 256 : nul));
    const normalOffsets: number[] = new Array(normalPages);
    const zeroOffsets: number[] = new Array(zeroPages);
    const used = this.blocks?.get(block);
    if (this.blocks && normalPages + zeroPages > 0 && used === undefined) {
      this.fail(ErrorCode.UnknownRamBlock, 'multifd packet names an unknown RAM block', offset + 64, `one of ${[...this.blocks.keys()].join(', ')}`, JSON.stringify(block));
    }
    for (let i = 0; i < normalPages + zeroPages; i++) {
      const at = 320 + 8 * i;
      const hi = readU32(hdr, at);
      const off = hi * 0x1_0000_0000 + readU32(hdr, at + 4);
      if (hi > 0x1fffff || (used !== undefined && off > used - this.pageSize)) {
        this.fail(ErrorCode.RamOffsetBeyondBlock, `multifd page offset beyond block ${block}`, offset + at, used !== undefined ? `<= ${hex(used - this.pageSize)}` : '< 2^53', hex(off));
      }
      if (i < normalPages) normalOffsets[i] = off;
      else zeroOffsets[i - normalPages] = off;
    }
    // Omitted payloads are skipped as they arrive: nothing holds the chunks that carry them.
    if (q.length < head + (this.omitPayloads ? 0 : payloadLength)) return false;
    const headBytes = q.take(head);
    let payload: Uint8Array = NO_BYTES;
    if (this.omitPayloads) this.skipLeft = payloadLength;
    else if (this.options.transientPayloads) {
      if (payloadLength > (this.joined?.length ?? 0)) this.joined = new Uint8Array(payloadLength);
      payload = q.takeJoined(payloadLength, this.joined!);
    } else payload = q.take(payloadLength);
    sink({
      kind: 'multifd-packet',
      offset,
      length: head + payloadLength,
      layout,
      magic,
      version,
      flags,
      sync: (flags & MULTIFD_FLAG_SYNC) !== 0,
      compression,
      pagesAlloc,
      normalPages,
      zeroPages,
      nextPacketSize,
      packetNum,
      block,
      normalOffsets,
      zeroOffsets,
      raw: { reserved: headBytes.subarray(32, 64), ramblock: headBytes.subarray(64, 320), offsets: headBytes.subarray(320, head) },
      payload,
      ...(this.omitPayloads && payloadLength > 0 ? { payloadOmitted: true } : {}),
    });
    return true;
  }

  private stepDeviceState(sink: MultifdSink, offset: number, magic: number, version: number, flags: number): boolean {
    const q = this.q;
    const head = MULTIFD_DEVICE_STATE_HEADER_SIZE;
    if (q.length < head) return false;
    if (flags !== MULTIFD_FLAG_DEVICE_STATE) this.fail(ErrorCode.UnknownRamFlags, 'device-state packet with other flags set', offset + 8, hex(MULTIFD_FLAG_DEVICE_STATE), hex(flags));
    const nextPacketSize = q.u32(272);
    if (nextPacketSize > this.maxDevice) this.fail(ErrorCode.LimitExceeded, 'device-state payload beyond maxDeviceStateBytes', offset + 272, `<= ${this.maxDevice}`, String(nextPacketSize));
    if (q.length < head + nextPacketSize) return false;
    const h = q.take(head);
    const idRaw = h.subarray(12, 268);
    const nul = idRaw.indexOf(0);
    const payload = q.take(nextPacketSize);
    sink({
      kind: 'multifd-device-state',
      offset,
      length: head + nextPacketSize,
      magic,
      version,
      flags,
      idstr: bytesToLatin1(idRaw.subarray(0, nul < 0 ? 256 : nul)),
      instanceId: readU32(h, 268),
      nextPacketSize,
      raw: { idstr: idRaw },
      payload,
    });
    return true;
  }
}

/** Decode a whole in-memory multifd channel. */
export function decodeMultifdChannel(bytes: Uint8Array, options: MultifdDecoderOptions = {}): { records: MultifdRecord[]; error?: CodecError } {
  return decodeAll(new MultifdDecoder(options), bytes);
}
