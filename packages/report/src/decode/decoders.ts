/**
 * The one place this package asks the codec for decoders: the codec's `decoderFor(role)`, plus
 * the RAM block list a main decoder learned (multifd and preempt channels are checked against it).
 */
import type { StreamStartOptions } from '@migwire/capture';
import { CodecError, MainStreamDecoder, decoderFor as codecDecoderFor, type ChannelRole, type CodecRecord, type RamBlockInfo } from '@migwire/stream-codec';

export type AnyRecord = CodecRecord;
export type RecordSink = (record: AnyRecord) => void;

export interface ChannelDecoder {
  write(chunk: Uint8Array, sink: RecordSink): void;
  end(sink: RecordSink): void;
  /** RAM blocks the main stream announced (MEM_SIZE); empty for other roles. */
  readonly ramBlocks: RamBlockInfo[];
}

export interface DecoderContext extends StreamStartOptions {
  channel: string;
  /** RAM blocks from the main channel, for multifd and preempt channels. */
  ramBlocks?: RamBlockInfo[];
}

/** A decoder for a channel of `role`, or undefined when the role carries nothing decodable (TLS, empty, unknown). */
export function decoderFor(role: ChannelRole, ctx: DecoderContext): ChannelDecoder | undefined {
  // Headers carry everything counted here (offsets, page counts): page payloads, main's and
  // multifd's, are skipped, never copied.
  const { ramBlocks, ...rest } = ctx;
  const d = codecDecoderFor(role, { ...rest, omitPayloads: true, skipPagePayloads: true, ...(ramBlocks?.length ? { ramBlocks } : {}) });
  if (!d) return undefined;
  return {
    write: (chunk, sink) => d.write(chunk, sink),
    end: (sink) => d.end(sink),
    get ramBlocks() {
      return role === 'main' && d instanceof MainStreamDecoder ? d.ramBlocks : [];
    },
  };
}

export function isCodecError(e: unknown): e is CodecError {
  return e instanceof CodecError;
}
