/**
 * Decode every channel of an input with the decoder its role calls for,
 * streaming each file (constant memory), main first so the others can be
 * checked against its RAM block list.
 */
import { CodecError, MainStreamDecoder, decoderFor, isDecodableRole, type CodecRecord, type Decoder, type RamBlockInfo, type Vmdesc } from '@migwire/stream-codec';
import { findTrailingVmdesc, type Capture, type CaptureChannel } from '@migwire/capture';
import { channelBytes } from './file-bytes.js';

export type AnyRecord = CodecRecord;

export interface ChannelResult {
  channel: CaptureChannel;
  bytes: number;
  records: number;
  /** Set when the channel's role has no decoder (TLS, unknown, empty). */
  skipped?: string;
  error?: CodecError;
}

export interface DecodeOptions {
  /** Description for VMState fields (default: the file's own trailer, when seekable). */
  vmdesc?: Vmdesc;
  /** Called with every chunk before it is decoded (round-trip checks, progress). */
  onChunk?: (channel: CaptureChannel, chunk: Uint8Array) => void;
  /** Called after every record, in order. */
  onRecord: (channel: CaptureChannel, record: AnyRecord) => void;
  /** Called once a channel is done. */
  onChannelEnd?: (result: ChannelResult) => void;
  /**
   * Find the stream's own VMDESCRIPTION by decoding the main channel once more before the real
   * pass, when it cannot be read off the end of the file (compressed files, stdin excluded).
   */
  vmdescPrepass?: boolean;
  /** Consume page payloads without handing them out (`ram-page` data empty): for listings and counts. */
  skipPagePayloads?: boolean;
  /**
   * The caller keeps no view of a record's bytes past `onRecord` (and uses no `onChunk`): read
   * buffers of main-format channels are recycled (less garbage, flat memory).
   */
  transientViews?: boolean;
  /** Only these channels (by name, role or connNN.dir). */
  only?: (channel: CaptureChannel) => boolean;
}

const ORDER: Record<string, number> = { main: 0, 'return-path': 1, multifd: 2, 'postcopy-preempt': 3 };

export function channelOrder(channels: CaptureChannel[]): CaptureChannel[] {
  return [...channels].sort((a, b) => (ORDER[a.role] ?? 9) - (ORDER[b.role] ?? 9) || (a.multifdId ?? 0) - (b.multifdId ?? 0) || a.conn - b.conn);
}

export async function decodeInput(input: Capture, opts: DecodeOptions): Promise<ChannelResult[]> {
  const results: ChannelResult[] = [];
  let ramBlocks: RamBlockInfo[] | undefined;
  for (const ch of channelOrder(input.channels)) {
    if (opts.only && !opts.only(ch)) continue;
    let dec: Decoder | undefined;
    let main: MainStreamDecoder | undefined;
    // Roles with no decoder are skipped below.
    if (isDecodableRole(ch.role)) {
      let vmdesc: Vmdesc | undefined;
      if (ch.role === 'main') {
        vmdesc = opts.vmdesc ?? (ch.path ? findTrailingVmdesc(ch.path) : undefined);
        if (!vmdesc && opts.vmdescPrepass && ch.path) vmdesc = await prepassVmdesc(ch);
      }
      dec = decoderFor(ch.role, { channel: ch.name, ...(opts.skipPagePayloads ? { skipPagePayloads: true } : {}), ...(vmdesc ? { vmdesc } : {}), ...(ramBlocks && ch.role !== 'main' ? { ramBlocks } : {}) });
      if (dec instanceof MainStreamDecoder && ch.role === 'main') main = dec;
    }
    const result: ChannelResult = { channel: ch, bytes: 0, records: 0 };
    if (!dec) {
      result.skipped = ch.role === 'tls' ? 'TLS-encrypted: record it through a terminating proxy to decode' : ch.role === 'empty' ? 'no bytes' : 'unrecognised first bytes';
      results.push(result);
      opts.onChannelEnd?.(result);
      continue;
    }
    const sink = (r: AnyRecord): void => {
      result.records++;
      opts.onRecord(ch, r);
    };
    try {
      const mainDecoder = dec instanceof MainStreamDecoder ? dec : undefined;
      const recycle = opts.transientViews && !opts.onChunk && mainDecoder ? { pending: () => mainDecoder.pending } : undefined;
      for await (const chunk of channelBytes(ch, recycle)) {
        result.bytes += chunk.length;
        opts.onChunk?.(ch, chunk);
        dec.write(chunk, sink);
      }
      dec.end(sink);
    } catch (e) {
      if (e instanceof CodecError) result.error = e;
      else throw e;
    }
    if (main && main.ramBlocks.length) ramBlocks = main.ramBlocks;
    results.push(result);
    opts.onChannelEnd?.(result);
  }
  return results;
}

async function prepassVmdesc(ch: CaptureChannel): Promise<Vmdesc | undefined> {
  const dec = new MainStreamDecoder({ channel: ch.name });
  try {
    for await (const chunk of channelBytes(ch)) dec.write(chunk, () => {});
    dec.end(() => {});
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
  }
  return dec.streamVmdesc;
}
