/**
 * One interface over the three channel decoders, and the factory that picks the decoder a
 * channel's role calls for.
 */
import type { DecoderLimits } from '../core/limits.js';
import type { ChannelRole } from '../identify/channel-role.js';
import { MainStreamDecoder } from '../main/decoder.js';
import type { MainRecord, RamBlockInfo } from '../main/records.js';
import type { ResumeInRam } from '../main/resume.js';
import type { Vmdesc } from '../vmstate/description.js';
import { MultifdDecoder } from '../multifd/decoder.js';
import type { MultifdLayout, MultifdRecord } from '../multifd/records.js';
import { ReturnPathDecoder } from '../return-path/decoder.js';
import type { ReturnPathRecord } from '../return-path/records.js';

export type CodecRecord = MainRecord | ReturnPathRecord | MultifdRecord;

/**
 * An incremental decoder of one channel: feed chunks with write(), then end(); records reach the
 * sink in stream order. Every failure is a CodecError, after which write/end rethrow it.
 */
export interface Decoder<R extends CodecRecord = CodecRecord> {
  /** Channel name used in errors. */
  readonly channel: string;
  /** Absolute offset of the next byte the decoder will read. */
  readonly offset: number;
  /** Bytes received but not yet consumed into a record. */
  readonly pending: number;
  write(chunk: Uint8Array, sink: (record: R) => void): void;
  end(sink: (record: R) => void): void;
  /** Copy the bytes it still holds of chunks written so far, so their memory may be reused. */
  ownPending(): void;
  /** A fresh decoder with the same options (usable again after an error). */
  reset(): Decoder<R>;
}

export interface DecoderOptions {
  /** Channel name used in errors (default: the role, or "multifd N" once the init names N). */
  channel?: string;
  limits?: Partial<DecoderLimits>;
  /** Target page size (default 4096, x86). */
  targetPageSize?: number;
  /** RAM blocks known from the main channel: multifd and preempt page offsets are checked against them. */
  ramBlocks?: RamBlockInfo[];
  /** Main: device descriptions to decode VMState fields with before the stream's own trailer. */
  vmdesc?: Vmdesc;
  /** Multifd: leave payloads out of the records (headers only, for live checks). */
  omitPayloads?: boolean;
  /**
   * Consume page payloads without handing them out: main and preempt `ram-page` data empty;
   * multifd as `omitPayloads` (packet headers only, payloads skipped as they arrive).
   */
  skipPagePayloads?: boolean;
  /** Multifd: each record's payload is done with before the next (see MultifdDecoderOptions.transientPayloads). */
  transientPayloads?: boolean;
  /** Multifd: packet layout, when the first packet cannot tell it. */
  layout?: MultifdLayout;
  /** Main: refuse what this destination release refuses (command 8 from 11.0 on). */
  destinationRelease?: string;
  /** Multifd: the configured channel count; the init id must be below it (11.0+ destinations check it). */
  multifdChannels?: number;
  /** Multifd: the stream starts at a packet (its init message was not seen). */
  skipInit?: boolean;
  /** Main: the stream starts at a RAM record found mid-way (MainResync; see MainDecoderOptions.resumeInRam). */
  resumeInRam?: ResumeInRam;
}

/** Roles with a decoder; the others (TLS, empty, other, main-recovery: its framing after a reconnect) have none. */
export type DecodableRole = 'main' | 'return-path' | 'multifd' | 'postcopy-preempt';

export function isDecodableRole(role: string): role is DecodableRole {
  return role === 'main' || role === 'return-path' || role === 'multifd' || role === 'postcopy-preempt';
}

export function decoderFor(role: 'main' | 'postcopy-preempt', options?: DecoderOptions): MainStreamDecoder;
export function decoderFor(role: 'return-path', options?: DecoderOptions): ReturnPathDecoder;
export function decoderFor(role: 'multifd', options?: DecoderOptions): MultifdDecoder;
export function decoderFor(role: DecodableRole, options?: DecoderOptions): Decoder;
export function decoderFor(role: ChannelRole, options?: DecoderOptions): Decoder | undefined;
/**
 * The decoder `role` calls for: main (from the QEVM header), return path, multifd, or the
 * postcopy-preempt channel (bare RAM records). undefined for roles whose bytes cannot be decoded.
 */
export function decoderFor(role: ChannelRole, options: DecoderOptions = {}): Decoder | undefined {
  const o = options;
  const common = {
    ...(o.limits !== undefined ? { limits: o.limits } : {}),
    ...(o.targetPageSize !== undefined ? { targetPageSize: o.targetPageSize } : {}),
  };
  const skip = o.skipPagePayloads ? { skipPagePayloads: true } : {};
  const blocks = o.ramBlocks !== undefined ? { ramBlocks: o.ramBlocks } : {};
  switch (role) {
    case 'main':
      return new MainStreamDecoder({
        channel: o.channel ?? 'main',
        ...common,
        ...skip,
        ...(o.vmdesc !== undefined ? { vmdesc: o.vmdesc } : {}),
        ...(o.destinationRelease !== undefined ? { destinationRelease: o.destinationRelease } : {}),
        ...(o.resumeInRam !== undefined ? { resumeInRam: o.resumeInRam } : {}),
      });
    case 'postcopy-preempt':
      return new MainStreamDecoder({ channel: o.channel ?? 'postcopy-preempt', start: 'ram', ...common, ...skip, ...blocks });
    case 'return-path':
      return new ReturnPathDecoder({ channel: o.channel ?? 'return-path', ...(o.limits !== undefined ? { limits: o.limits } : {}) });
    case 'multifd':
      return new MultifdDecoder({
        ...(o.channel !== undefined ? { channel: o.channel } : {}),
        ...common,
        ...blocks,
        ...(o.omitPayloads !== undefined || o.skipPagePayloads ? { omitPayloads: o.omitPayloads ?? true } : {}),
        ...(o.layout !== undefined ? { layout: o.layout } : {}),
        ...(o.transientPayloads ? { transientPayloads: true } : {}),
        ...(o.multifdChannels !== undefined ? { channels: o.multifdChannels } : {}),
        ...(o.skipInit !== undefined ? { skipInit: o.skipInit } : {}),
      });
    default:
      return undefined;
  }
}
