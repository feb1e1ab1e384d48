/**
 * Page contents of multifd RAM packets, produced on demand. A channel's
 * zlib or zstd payloads are pieces of one stream that runs for the whole
 * migration (each piece ends with a flush), so decompression keeps state per
 * channel: feed it every packet of the channel, in order.
 */
import { ErrorCode } from '../core/errors.js';
import { PayloadProblem, problemToCodecError } from '../core/problem.js';
import { InflateLimitExceeded, payloadInflater, type PayloadInflater } from './compression.js';
import type { MultifdRamPacketRecord } from './records.js';
import { ZstdGuard } from './zstd-guard.js';

export interface MultifdPage {
  offset: number;
  /** Page bytes: a view into the payload (no compression) or into the decompressed piece. */
  data: Uint8Array;
}

export class MultifdPageDecoder {
  private stream: PayloadInflater | undefined;
  private method: string | undefined;
  private out: Uint8Array[] = [];
  private outBytes = 0;
  private limit = 0;
  /** zstd payloads are checked before fzstd sees them (it can loop for seconds on corrupt blocks). */
  readonly zstdGuard = new ZstdGuard();

  constructor(
    private readonly pageSize = 4096,
    /** Channel name for errors. */
    private readonly channel = 'multifd',
  ) {}

  /**
   * Normal pages of `p` with their data; a corrupt payload throws a CodecError whose offset is
   * in the channel (the payload's place plus the problem's). The stream state is gone after that.
   */
  pages(p: MultifdRamPacketRecord): MultifdPage[] {
    try {
      return this.pagesOf(p);
    } catch (e) {
      if (e instanceof PayloadProblem) throw problemToCodecError(e, this.channel, p.offset + p.length - p.payload.length, 'multifd');
      throw e;
    }
  }

  private pagesOf(p: MultifdRamPacketRecord): MultifdPage[] {
    if (p.normalPages === 0) return [];
    const want = p.normalPages * this.pageSize;
    let plain: Uint8Array;
    if (p.compression === 'none') {
      plain = p.payload;
    } else {
      plain = this.inflate(p, want);
    }
    if (plain.length !== want) {
      throw new PayloadProblem(ErrorCode.BadCompressedPayload, 'payload holds a different amount of page data than the packet announces', String(want), String(plain.length), 0);
    }
    const out: MultifdPage[] = new Array(p.normalPages);
    for (let i = 0; i < p.normalPages; i++) out[i] = { offset: p.normalOffsets[i]!, data: plain.subarray(i * this.pageSize, (i + 1) * this.pageSize) };
    return out;
  }

  private inflate(p: MultifdRamPacketRecord, want: number): Uint8Array {
    if (p.compression !== 'zlib' && p.compression !== 'zstd') {
      throw new PayloadProblem(ErrorCode.BadCompressedPayload, `cannot decompress ${p.compression} payloads`, 'none, zlib or zstd', p.compression, 0);
    }
    if (this.method !== undefined && this.method !== p.compression) {
      throw new PayloadProblem(ErrorCode.BadCompressedPayload, 'compression method changed within a channel', this.method, p.compression, 0);
    }
    if (!this.stream) {
      this.method = p.compression;
      const sink = (chunk: Uint8Array): void => {
        this.outBytes += chunk.length;
        if (this.outBytes > this.limit) throw new PayloadProblem(ErrorCode.BadCompressedPayload, 'payload inflates to more page data than the packet announces', `${this.limit} bytes`, 'more', 0);
        this.out.push(chunk);
      };
      this.stream = payloadInflater(p.compression, sink);
    }
    this.out = [];
    this.outBytes = 0;
    this.limit = want;
    if (p.compression === 'zstd') this.zstdGuard.check(p.payload);
    try {
      this.stream.push(p.payload, want);
    } catch (e) {
      if (e instanceof PayloadProblem) throw e;
      if (e instanceof InflateLimitExceeded) throw new PayloadProblem(ErrorCode.BadCompressedPayload, 'payload inflates to more page data than the packet announces', `${want} bytes`, 'more', 0);
      throw new PayloadProblem(ErrorCode.BadCompressedPayload, `${p.compression} payload is corrupt: ${(e as Error).message}`, `${want} bytes of pages`, 'corrupt stream', 0);
    }
    if (this.out.length === 1) return this.out[0]!;
    const plain = new Uint8Array(this.outBytes);
    let at = 0;
    for (const c of this.out) {
      plain.set(c, at);
      at += c.length;
    }
    return plain;
  }
}
