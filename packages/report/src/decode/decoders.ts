/**
 * The one place this package touches the codec's decoder classes: a decoder per channel role,
 * behind one small interface. When the codec gains its own `decoderFor(role)` factory, only this
 * file changes.
 */
import {
  CodecError,
  MainStreamDecoder,
  MultifdDecoder,
  ReturnPathDecoder,
  type ChannelRole,
  type MainRecord,
  type MultifdRecord,
  type RamBlockInfo,
  type ReturnPathRecord,
} from '@migwire/stream-codec';

export type AnyRecord = MainRecord | ReturnPathRecord | MultifdRecord;
export type RecordSink = (record: AnyRecord) => void;

export interface ChannelDecoder {
  write(chunk: Uint8Array, sink: RecordSink): void;
  end(sink: RecordSink): void;
  /** RAM blocks the main stream announced (MEM_SIZE); empty for other roles. */
  readonly ramBlocks: RamBlockInfo[];
}

export interface DecoderContext {
  channel: string;
  /** RAM blocks from the main channel, for multifd and preempt channels. */
  ramBlocks?: RamBlockInfo[];
}

/** A decoder for a channel of `role`, or undefined when the role carries nothing decodable (TLS, empty, unknown). */
export function decoderFor(role: ChannelRole, ctx: DecoderContext): ChannelDecoder | undefined {
  const blocks = ctx.ramBlocks && ctx.ramBlocks.length ? { ramBlocks: ctx.ramBlocks } : {};
  let dec: { write(c: Uint8Array, s: RecordSink): void; end(s: RecordSink): void };
  let main: MainStreamDecoder | undefined;
  switch (role) {
    case 'main':
      dec = main = new MainStreamDecoder({ channel: ctx.channel });
      break;
    case 'postcopy-preempt':
      dec = new MainStreamDecoder({ channel: ctx.channel, start: 'ram', ...blocks });
      break;
    case 'return-path':
      dec = new ReturnPathDecoder({ channel: ctx.channel });
      break;
    case 'multifd':
      // Headers carry everything counted here (offsets, page counts); payloads are skipped, never copied.
      dec = new MultifdDecoder({ channel: ctx.channel, omitPayloads: true, ...blocks });
      break;
    default:
      return undefined;
  }
  const d = dec;
  return {
    write: (chunk, sink) => d.write(chunk, sink),
    end: (sink) => d.end(sink),
    get ramBlocks() {
      return main?.ramBlocks ?? [];
    },
  };
}

export function isCodecError(e: unknown): e is CodecError {
  return e instanceof CodecError;
}
