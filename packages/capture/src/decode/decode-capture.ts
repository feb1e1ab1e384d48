/**
 * decodeCapture(capture, options): every channel of a capture through the decoder its role calls
 * for, streaming each file (constant memory), main first so the others can be checked against its
 * RAM block list. The one decode loop of the toolkit: dump, check and the rule engine use it.
 */
import { CodecError, DEFAULT_TARGET_PAGE_SIZE, MainStreamDecoder, MultifdDecoder, decoderFor, isDecodableRole, isEncryptedRole, type CodecRecord, type Decoder, type PassedPageRun, type RamBlockInfo, type Vmdesc } from '@migwire/stream-codec';
import type { Capture, CaptureChannel } from '../open/open-capture.js';
import { findTrailingVmdesc } from '../open/trailer.js';
import { incompleteStream, notAMigrationStream, withPlace } from './outcome.js';
import { channelBytes, type Recycle } from './file-bytes.js';
import { streamStartOptions } from './stream-start.js';
import { isGzipPath } from '../open/byte-source.js';
import { PageRunsAhead } from './page-runs/ahead.js';
import { checkedRuns, mainFileWithRuns, readsPageRuns } from './page-runs/reader.js';
import { HashAhead, hashesAside } from '../open/hash-aside.js';

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
  onRecord: (channel: CaptureChannel, record: CodecRecord) => void;
  /** Called once a channel is done. */
  onChannelEnd?: (result: ChannelResult) => void;
  /**
   * Find the stream's own VMDESCRIPTION by decoding the main channel once more before the real
   * pass, when it cannot be read off the end of the file (compressed files, stdin excluded).
   */
  vmdescPrepass?: boolean;
  /**
   * Consume page payloads without handing them out (`ram-page` data empty, multifd packets with
   * `payloadOmitted`; a plain pcap's multifd payloads are not even read): for listings and counts.
   */
  skipPagePayloads?: boolean;
  /**
   * The caller keeps no view of a record's bytes past `onRecord`, and of a chunk given to
   * `onChunk` no more than what the decoder has not consumed yet (a round trip's queue of the
   * input): read buffers of main-format and multifd channels are recycled (less garbage, flat
   * memory, buffers that stay in the CPU's cache).
   */
  transientViews?: boolean;
  /**
   * Runs of PAGE/ZERO records handed over whole instead of a record each, for a main stream read
   * whole from a plain file (its index.json sha256, if any, computed on another thread), with skipPagePayloads and without
   * onChunk: the reader scans each chunk for runs (page-runs/reader.ts), and on two cores or more
   * a worker thread finds those of the file's second half while the first is read (files of
   * pageRunsMinBytes or more; page-runs/ahead.ts). A run's records count in the channel's result;
   * its last record becomes the channel's last.
   */
  onPageRun?: (channel: CaptureChannel, run: PassedPageRun) => void;
  /** Runs carry every record's numbers (PassedPageRun.detail, forEachRunRecord): a listing of every page record can still take runs. */
  pageRunDetail?: boolean;
  /** Smallest file workers are started for (default PAGE_RUNS_MIN_BYTES, 64 MiB: below it a worker's start costs about what it saves). */
  pageRunsMinBytes?: number;
  /** How many workers (default: one per core beside this thread, at most 8, each with 32 MiB or more to read). */
  pageRunWorkers?: number;
  /** Only these channels (by name, role or connNN.dir). */
  only?: (channel: CaptureChannel) => boolean;
}

const ORDER: Record<string, number> = { main: 0, 'return-path': 1, multifd: 2, 'postcopy-preempt': 3 };

export function channelOrder(channels: CaptureChannel[]): CaptureChannel[] {
  return [...channels].sort((a, b) => (ORDER[a.role] ?? 9) - (ORDER[b.role] ?? 9) || (a.multifdId ?? 0) - (b.multifdId ?? 0) || a.conn - b.conn);
}

export async function decodeCapture(input: Capture, opts: DecodeOptions): Promise<ChannelResult[]> {
  const order = channelOrder(input.channels).filter((ch) => !opts.only || opts.only(ch));
  // A packet capture is read once for all channels rather than once per channel.
  const decodable = order.filter((ch) => isDecodableRole(ch.role));
  const streams = new Map<CaptureChannel, AsyncIterable<Uint8Array>>();
  if (input.openAll && decodable.length > 1) input.openAll(decodable).forEach((s, i) => streams.set(decodable[i]!, s));
  // Large plain files with a sha256 in index.json: hashed side by side on other threads, from the start.
  const hashes = new HashAhead(decodable.filter((ch) => !streams.has(ch) && ch.path && !isGzipPath(ch.path) && hashesAside(ch.size, ch.expect)).map((ch) => ch.path!));
  try {
    return await decodeChannels(input, opts, order, streams, hashes);
  } finally {
    hashes.stop();
  }
}

async function decodeChannels(input: Capture, opts: DecodeOptions, order: CaptureChannel[], streams: Map<CaptureChannel, AsyncIterable<Uint8Array>>, hashes: HashAhead): Promise<ChannelResult[]> {
  const results: ChannelResult[] = [];
  let ramBlocks: RamBlockInfo[] | undefined;
  for (const ch of order) {
    // Started first: the workers' own start-up then overlaps reading the trailer.
    const runs = !!opts.onPageRun && takesPageRuns(ch, opts);
    const ahead = runs ? PageRunsAhead.start(ch.path!, ch.size!, DEFAULT_TARGET_PAGE_SIZE, opts.pageRunsMinBytes, opts.pageRunWorkers, opts.pageRunDetail === true) : undefined;
    let done: { result: ChannelResult; ramBlocks?: RamBlockInfo[] };
    try {
      done = await decodeChannel(input, opts, ch, { ramBlocks, streams, hashes, runs, ahead });
    } finally {
      ahead?.stop();
    }
    const result = done.result;
    if (done.ramBlocks?.length) ramBlocks = done.ramBlocks;
    results.push(result);
    opts.onChannelEnd?.(result);
  }
  return results;
}

interface ChannelContext {
  /** The main channel's block list, for the channels after it. */
  ramBlocks: RamBlockInfo[] | undefined;
  streams: Map<CaptureChannel, AsyncIterable<Uint8Array>>;
  hashes: HashAhead;
  /** Page runs taken (see takesPageRuns), with `ahead` the workers finding them, if any. */
  runs: boolean;
  ahead: PageRunsAhead | undefined;
}

/** One channel through its decoder; for a main channel, the block list it learnt too. */
async function decodeChannel(input: Capture, opts: DecodeOptions, ch: CaptureChannel, c: ChannelContext): Promise<{ result: ChannelResult; ramBlocks?: RamBlockInfo[] }> {
  let dec: Decoder | undefined;
  // Roles with no decoder are skipped below.
  if (isDecodableRole(ch.role)) {
    let vmdesc: Vmdesc | undefined;
    if (ch.role === 'main') {
      vmdesc = opts.vmdesc ?? (ch.path ? findTrailingVmdesc(ch.path) : undefined);
      if (!vmdesc && opts.vmdescPrepass && ch.path) vmdesc = await prepassVmdesc(ch);
    }
    dec = decoderFor(ch.role, { channel: ch.name, ...(opts.skipPagePayloads ? { skipPagePayloads: true } : {}), ...(opts.transientViews ? { transientPayloads: true } : {}), ...(vmdesc ? { vmdesc } : {}), ...(c.ramBlocks && ch.role !== 'main' ? { ramBlocks: c.ramBlocks } : {}), ...streamStartOptions(ch) });
  }
  // Bytes that claim no role are not a migration stream: decoding them as one says what is wrong
  // (bad magic, or empty) instead of skipping them; TLS peers' answers and empty directions stay skipped.
  if (!dec && notAMigrationStream(input, ch)) dec = new MainStreamDecoder({ channel: ch.name });
  const result: ChannelResult = { channel: ch, bytes: 0, records: 0 };
  if (!dec) {
    result.skipped = isEncryptedRole(ch.role) ? 'TLS-encrypted: record it through a terminating proxy to decode' : ch.role === 'empty' ? 'no bytes' : 'unrecognised first bytes';
    // Not decoded, but still read when index.json promises its size and sha256: a dump or check
    // that ends well must not leave a doctored or cut file unchecked.
    if (ch.expect && (ch.expect.sha256 || ch.expect.size !== undefined)) {
      try {
        for await (const chunk of channelBytes(ch)) result.bytes += chunk.length;
      } catch (e) {
        throw withPlace(e, ch, result.bytes);
      }
    }
    return { result };
  }
  let last: CodecRecord | undefined;
  let ended = false;
  const sink = (r: CodecRecord): void => {
    result.records++;
    last = r;
    if (r.kind === 'eof' && r.depth === 0) ended = true;
    opts.onRecord(ch, r);
  };
  const mainDecoder = dec instanceof MainStreamDecoder ? dec : undefined;
  try {
    const recycle = opts.transientViews ? recycleFor(dec) : undefined;
    // Multifd payloads a listing passes over need not even be read where the capture can seek.
    const skipper = opts.skipPagePayloads && !opts.onChunk && dec instanceof MultifdDecoder && ch.openSkipping ? dec : undefined;
    const runsSource = c.runs && mainDecoder ? mainFileWithRuns(ch.path!, mainDecoder, c.ahead, { detail: opts.pageRunDetail === true }) : undefined;
    const source = runsSource ? (ch.expect ? checkedRuns(runsSource, ch.path!, ch.expect, c.hashes) : runsSource) : skipper ? ch.openSkipping!(() => skipper.skippable) : (c.streams.get(ch) ?? channelBytes(ch, recycle, c.hashes));
    for await (const chunk of source) {
      if ('records' in chunk) {
        // A run of pages the decoder took whole.
        result.bytes += chunk.end - chunk.start;
        result.records += chunk.records;
        last = chunk.last;
        opts.onPageRun!(ch, chunk);
        continue;
      }
      if (!(chunk instanceof Uint8Array)) {
        result.bytes += chunk.length;
        skipper!.skipAbsent(chunk.length);
        continue;
      }
      result.bytes += chunk.length;
      opts.onChunk?.(ch, chunk);
      dec.write(chunk, sink);
    }
    dec.end(sink);
    if (ch.role === 'main' && !ended) result.error = incompleteStream(ch, result.bytes, last);
  } catch (e) {
    if (!(e instanceof CodecError)) throw withPlace(e, ch, result.bytes);
    result.error = e;
    // The bytes that decoded before the error: how far reading had gone past it depends on read
    // sizes and on whether workers took page runs, and would differ from run to run.
    result.bytes = Math.min(result.bytes, e.offset);
  }
  return ch.role === 'main' && mainDecoder ? { result, ramBlocks: mainDecoder.ramBlocks } : { result };
}

/**
 * How a channel's read buffers may be reused: once what the decoder still holds unconsumed lies
 * in the newer buffers. A multifd packet (up to ~520 KiB) spans several 128 KiB reads, hence the
 * larger ring; its page decoder keeps no view of a payload past the call (zstd input is copied).
 */
function recycleFor(dec: Decoder): Recycle | undefined {
  if (dec instanceof MainStreamDecoder) return { pending: () => dec.pending };
  if (dec instanceof MultifdDecoder) return { pending: () => dec.pending, ring: 8 };
  return undefined;
}

/**
 * Whether a channel's page records may be taken in runs (see DecodeOptions.onPageRun): a main
 * stream read whole from a plain file (no gzip), page payloads not wanted, and a sha256 from
 * index.json (if any) computed on another thread, since the reader does not see every byte.
 * Runs are scanned with the decoder's page size (decodeCapture never sets another).
 */
function takesPageRuns(ch: CaptureChannel, opts: DecodeOptions): boolean {
  return !!opts.skipPagePayloads && !opts.onChunk && readsPageRuns(ch);
}

async function prepassVmdesc(ch: CaptureChannel): Promise<Vmdesc | undefined> {
  const dec = new MainStreamDecoder({ channel: ch.name, ...streamStartOptions(ch) });
  try {
    for await (const chunk of channelBytes(ch)) dec.write(chunk, () => {});
    dec.end(() => {});
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
  }
  return dec.streamVmdesc;
}
