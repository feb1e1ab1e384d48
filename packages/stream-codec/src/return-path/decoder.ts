/** Incremental decoder for the return path: be16 type, be16 length, payload. */
import { ChunkQueue } from '../core/chunk-queue.js';
import { RAMBLOCK_RECV_BITMAP_ENDING_HI, RAMBLOCK_RECV_BITMAP_ENDING_LO, ReturnPathMessage, RP_MESSAGE_NAMES } from '../core/constants.js';
import { CodecError, ErrorCode, hex } from '../core/errors.js';
import { bytesToLatin1, readU32, readU64Exact } from '../core/bytes.js';
import { resolveLimits, type DecoderLimits } from '../core/limits.js';
import type { ReturnPathArgs, ReturnPathRecord } from './records.js';
import { decodeAll } from '../decoder/decode-all.js';

export interface ReturnPathDecoderOptions {
  channel?: string;
  /** Bounds on what the decoder holds (this one reads maxRecvBitmapBytes). */
  limits?: Partial<DecoderLimits>;
}

export type ReturnPathSink = (r: ReturnPathRecord) => void;

/** Exact payload lengths; -1 for the ones that carry a block name. */
const FIXED_LENGTH: Readonly<Record<number, number>> = {
  [ReturnPathMessage.Shut]: 4,
  [ReturnPathMessage.Pong]: 4,
  [ReturnPathMessage.ReqPages]: 12,
  [ReturnPathMessage.ResumeAck]: 4,
  [ReturnPathMessage.SwitchoverAck]: 0,
};

/** The source rejects any message longer than this. */
const MAX_RP_MESSAGE_LENGTH = 512;

export class ReturnPathDecoder {
  readonly channel: string;
  private readonly q = new ChunkQueue();
  private readonly maxBitmap: number;
  private bitmapFor: string | undefined;
  private error: CodecError | undefined;
  private readonly options: ReturnPathDecoderOptions;

  constructor(options: ReturnPathDecoderOptions = {}) {
    this.options = options;
    this.channel = options.channel ?? 'return-path';
    this.maxBitmap = resolveLimits(options.limits).maxRecvBitmapBytes;
  }

  get offset(): number {
    return this.q.offset;
  }

  /** Bytes received but not yet consumed into a record. */
  get pending(): number {
    return this.q.length;
  }

  /** Forget everything: the decoder is usable again after an error. */
  reset(): ReturnPathDecoder {
    return new ReturnPathDecoder(this.options);
  }

  /** Copy the bytes it still holds of chunks written so far (a partial record), so the caller may reuse their memory. */
  ownPending(): void {
    this.q.own();
  }

  write(chunk: Uint8Array, sink: ReturnPathSink): void {
    if (this.error) throw this.error;
    this.q.push(chunk);
    while (this.step(sink));
  }

  end(_sink: ReturnPathSink): void {
    if (this.error) throw this.error;
    if (this.q.length > 0 || this.bitmapFor !== undefined) {
      this.fail(ErrorCode.Truncated, this.bitmapFor !== undefined ? 'return path ends before the received bitmap' : 'return path ends inside a message', this.q.offset, 'more bytes', `${this.q.length} bytes`);
    }
  }

  private fail(code: ErrorCode, message: string, offset: number, expected?: string, found?: string): never {
    const d: ConstructorParameters<typeof CodecError>[0] = { code, channel: this.channel, role: 'return-path', offset, message };
    if (expected !== undefined) d.expected = expected;
    if (found !== undefined) d.found = found;
    this.error = new CodecError(d);
    throw this.error;
  }

  private step(sink: ReturnPathSink): boolean {
    const q = this.q;
    const offset = q.offset;
    if (this.bitmapFor !== undefined) {
      // be64 size in bytes, the bitmap, be64 end marker.
      if (q.length < 8) return false;
      const hi = q.u32(0);
      const size = hi * 0x1_0000_0000 + q.u32(4);
      if (hi !== 0 || size > this.maxBitmap) this.fail(ErrorCode.BadRecvBitmap, 'received bitmap larger than maxRecvBitmapBytes', offset, `<= ${this.maxBitmap}`, String(size));
      if (q.length < 16 + size) return false;
      q.skip(8);
      const bitmap = q.take(size);
      const endingHi = q.u32(0);
      const endingLo = q.u32(4);
      if (endingHi !== RAMBLOCK_RECV_BITMAP_ENDING_HI || endingLo !== RAMBLOCK_RECV_BITMAP_ENDING_LO) {
        this.fail(ErrorCode.BadRecvBitmap, 'received bitmap end marker is wrong', q.offset, '0x0123456789abcdef', hex(endingHi, 8) + hex(endingLo, 8).slice(2));
      }
      q.skip(8);
      const block = this.bitmapFor;
      this.bitmapFor = undefined;
      sink({ kind: 'rp-recv-bitmap', offset, length: 16 + size, block, bitmap, endingHi, endingLo });
      return true;
    }
    if (q.length < 4) return false;
    const type = q.u16(0);
    const len = q.u16(2);
    const name = RP_MESSAGE_NAMES[type];
    if (name === undefined || type === ReturnPathMessage.Invalid) this.fail(ErrorCode.UnknownReturnPathMessage, 'unknown return-path message', offset, '1..7', String(type));
    if (len > MAX_RP_MESSAGE_LENGTH) this.fail(ErrorCode.ReturnPathLength, `${name} longer than any return-path message`, offset + 2, `<= ${MAX_RP_MESSAGE_LENGTH}`, String(len));
    const fixed = FIXED_LENGTH[type];
    if (fixed !== undefined && len !== fixed) this.fail(ErrorCode.ReturnPathLength, `${name} has the wrong length`, offset + 2, String(fixed), String(len));
    if (q.length < 4 + len) return false;
    q.skip(4);
    const payload = q.take(len);
    const args = this.parse(type, payload, offset);
    sink({ kind: 'rp-message', offset, length: 4 + len, type, name, payload, args });
    if (args.message === 'RECV_BITMAP') this.bitmapFor = args.block;
    return true;
  }

  private parse(type: number, p: Uint8Array, offset: number): ReturnPathArgs {
    switch (type) {
      case ReturnPathMessage.Shut:
        return { message: 'SHUT', status: readU32(p, 0) };
      case ReturnPathMessage.Pong:
        return { message: 'PONG', value: readU32(p, 0) };
      case ReturnPathMessage.ResumeAck:
        return { message: 'RESUME_ACK', value: readU32(p, 0) };
      case ReturnPathMessage.SwitchoverAck:
        return { message: 'SWITCHOVER_ACK' };
      case ReturnPathMessage.ReqPages:
        return { message: 'REQ_PAGES', start: readU64Exact(p, 0), length: readU32(p, 8) };
      case ReturnPathMessage.ReqPagesId: {
        if (p.length < 13 || 13 + p[12]! !== p.length) this.fail(ErrorCode.ReturnPathLength, 'REQ_PAGES_ID length does not match its block name', offset + 2, `13 + ${p[12] ?? 0}`, String(p.length));
        return { message: 'REQ_PAGES_ID', start: readU64Exact(p, 0), length: readU32(p, 8), block: bytesToLatin1(p.subarray(13)) };
      }
      default: {
        // RECV_BITMAP: u8 length + block name.
        if (p.length < 1 || 1 + p[0]! !== p.length) this.fail(ErrorCode.ReturnPathLength, 'RECV_BITMAP length does not match its block name', offset + 2, `1 + ${p[0] ?? 0}`, String(p.length));
        return { message: 'RECV_BITMAP', block: bytesToLatin1(p.subarray(1)) };
      }
    }
  }
}

/** Decode a whole in-memory return path. */
export function decodeReturnPath(bytes: Uint8Array, options: ReturnPathDecoderOptions = {}): { records: ReturnPathRecord[]; error?: CodecError } {
  return decodeAll(new ReturnPathDecoder(options), bytes);
}
