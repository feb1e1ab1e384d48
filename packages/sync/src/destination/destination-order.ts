/**
 * A recording's records in the order its destination applied them: the main channel's records
 * one by one, and before each main barrier (MULTIFD_FLUSH since 8.0, each RAM EOS before) the
 * multifd pages of the round that barrier closed, channel by channel. Reads every channel
 * incrementally (flat memory). `migwire extract` applies these events to RAM images;
 * `migwire transcode` sends them again. The postcopy-preempt channel is left to the caller.
 */
import {
  CodecError,
  ErrorCode,
  MainStreamDecoder,
  MultifdDecoder,
  MultifdPageDecoder,
  type MainRecord,
  type MultifdCompression,
  type MultifdLayout,
  type MultifdRecord,
  type PassedPageRun,
  type RamBlockInfo,
} from '@migwire/stream-codec';
import { ChannelCursor, channelOrder, streamStartOptions, type Capture, type CaptureChannel, type PageRunItem } from '@migwire/capture';
import { RecordedBarriers } from './barrier-record.js';

/** One page as it reached the destination: data, or a zero page. */
export interface RecordedPage {
  block: string;
  offset: number;
  /** undefined for a zero page. */
  data: Uint8Array | undefined;
}

export type OrderedEvent =
  | { kind: 'main'; record: MainRecord }
  /** A run of main's PAGE/ZERO records taken whole (with `pageRuns`): its pages are in `bytes` (forEachRunPage). */
  | { kind: 'main-page-run'; run: PassedPageRun; bytes: Uint8Array }
  /** Pages of one recorded multifd packet, delivered before the main barrier of its round. */
  | { kind: 'multifd-pages'; channel: string; pages: RecordedPage[] };

/** What the recording's multifd channels said about themselves (from their first records). */
export interface RecordedMultifd {
  channels: number;
  layout: MultifdLayout | undefined;
  compression: MultifdCompression | undefined;
  /** uuid of the first init message: the destination compares it with its own. */
  uuid: Uint8Array | undefined;
}

class MultifdFeed {
  readonly cursor: ChannelCursor<MultifdRecord>;
  readonly #pages: MultifdPageDecoder;
  syncs = 0;
  layout: MultifdLayout | undefined;
  compression: MultifdCompression | undefined;
  uuid: Uint8Array | undefined;

  constructor(
    ch: CaptureChannel,
    blocks: RamBlockInfo[],
    private readonly stablePages: boolean,
    private readonly errors: CodecError[] | undefined,
    stream: AsyncIterable<Uint8Array> | undefined,
    recycle: boolean,
  ) {
    // Recycling: a packet's split payload is joined in one reused buffer, and the ring holds a
    // whole packet (header, offsets and 512 KiB of pages) waiting for its last bytes.
    const dec = new MultifdDecoder({ channel: ch.name, ramBlocks: blocks, ...streamStartOptions(ch), ...(recycle ? { transientPayloads: true } : {}) });
    this.cursor = new ChannelCursor<MultifdRecord>(ch, dec, { ...(stream ? { stream } : {}), ...(recycle ? { recycle: { pending: () => dec.pending, ring: 8 } } : {}) });
    this.#pages = new MultifdPageDecoder(4096, ch.name);
  }

  /** The page events of this channel until it has delivered `round` SYNCs (or ends). */
  async *until(round: number): AsyncGenerator<OrderedEvent> {
    while (this.syncs < round) {
      const r = await this.cursor.next();
      // The channel's end: a decode error that stopped it is still reported below.
      if (!r) break;
      if (r.kind === 'multifd-init') this.uuid ??= r.uuid;
      if (r.kind !== 'multifd-packet') continue;
      this.layout ??= r.layout;
      if (r.normalPages + r.zeroPages > 0) this.compression ??= r.compression;
      const pages: RecordedPage[] = [];
      // Decompressed pages are views into the decompressor's output: copied when they must outlive the event.
      const copy = this.stablePages && r.compression !== 'none';
      for (const p of this.#pages.pages(r)) pages.push({ block: r.block, offset: p.offset, data: copy ? p.data.slice() : p.data });
      for (const o of r.zeroOffsets) pages.push({ block: r.block, offset: o, data: undefined });
      if (r.sync) this.syncs++;
      if (pages.length) yield { kind: 'multifd-pages', channel: this.cursor.channel.name, pages };
    }
    // A channel that ended cleanly before the SYNC of a round main has closed lost that round's
    // pages (a cut or emptied connection): as much an error as bytes that do not decode.
    const e = this.cursor.error ?? (this.syncs < round && round !== Infinity ? this.#shortOfSyncs(round) : undefined);
    if (e && !this.#reported) {
      this.#reported = true;
      if (!this.errors) throw e;
      this.errors.push(e);
    }
  }

  #reported = false;

  #shortOfSyncs(round: number): CodecError {
    const ch = this.cursor.channel;
    return new CodecError({
      code: ErrorCode.Truncated,
      channel: ch.name,
      role: 'multifd',
      offset: this.cursor.bytes,
      message: `${ch.name} ended after ${this.syncs} SYNC packet${this.syncs === 1 ? '' : 's'}, but the main channel had closed round ${this.syncs + 1}: the pages this channel sent in it are not in the capture`,
    });
  }
}

export interface DestinationOrderOptions {
  /**
   * Page data must stay valid after the event is handled (it is queued, not written at once):
   * decompressed multifd pages are then copied. Default true.
   */
  stablePages?: boolean;
  /**
   * Keep going past a channel's decode error: the error is collected in `errors`, that channel
   * stops, the others go on (extract). Default: the first error is thrown (transcode).
   */
  collectErrors?: boolean;
  /**
   * The main channel's read buffers may be reused once the decoder is past them and this says no
   * one else holds them: the caller is done with each main record before asking for the next
   * (extract, whose queued writes hold page views).
   */
  mainBuffersInUse?: (buffer: ArrayBufferLike) => boolean;
  /**
   * The caller keeps no byte of an event (record or page) past handling it: every channel's read
   * buffers (plain files) are then reused, so reading 1 GiB leaves no 1 GiB of garbage behind
   * (transcode, whose sinks copy what they keep). Implies `stablePages: false`.
   */
  recycleBuffers?: boolean;
  /**
   * With mainBuffersInUse: a main channel read from a plain file gives its runs of PAGE and ZERO
   * records as one 'main-page-run' event each (no record per page; a run holds no barrier), their
   * read buffers held as mainBuffersInUse says. extract, on a stream that is mostly pages.
   */
  pageRuns?: boolean;
}

/** Reads a recording in destination order; `recordedMultifd()` fills in as the channels are read. */
export class DestinationOrderReader {
  readonly main: ChannelCursor<MainRecord, PageRunItem>;
  /** Decode errors met so far (with collectErrors). */
  readonly errors: CodecError[] = [];
  readonly #stablePages: boolean;
  readonly #recycle: boolean;
  readonly #collect: boolean;
  readonly #mainDecoder: MainStreamDecoder;
  readonly #multifdChannels: CaptureChannel[];
  readonly #streams: AsyncIterable<Uint8Array>[] | undefined;
  #feeds: MultifdFeed[] | undefined;
  readonly #barriers = new RecordedBarriers();

  /** `input` must have a main channel (see `channelOrder`). */
  constructor(input: Capture, o: DestinationOrderOptions = {}) {
    const chans = channelOrder(input.channels);
    const mainCh = chans.find((c) => c.role === 'main');
    if (!mainCh) throw new Error(`${input.path} has no main channel`);
    this.#recycle = o.recycleBuffers === true;
    this.#stablePages = !this.#recycle && (o.stablePages ?? true);
    this.#collect = o.collectErrors === true;
    this.#mainDecoder = new MainStreamDecoder({ channel: mainCh.name, ...streamStartOptions(mainCh) });
    const dec = this.#mainDecoder;
    // Enough buffers to cover the pages queued writes may still hold (extract's writer: ~3 MiB).
    const recycle = o.mainBuffersInUse ? { pending: () => dec.pending, inUse: o.mainBuffersInUse, ring: 40 } : this.#recycle ? { pending: () => dec.pending } : undefined;
    this.#multifdChannels = chans.filter((c) => c.role === 'multifd');
    // A packet capture is read once for main and every multifd channel, which are read in step.
    const shared = this.#multifdChannels.length && input.openAll ? input.openAll([mainCh, ...this.#multifdChannels]) : undefined;
    this.#streams = shared?.slice(1);
    const inUse = o.mainBuffersInUse;
    const pageRuns = o.pageRuns && inUse ? { pageRuns: { inUse } } : {};
    this.main = new ChannelCursor<MainRecord, PageRunItem>(mainCh, dec, { ...(shared ? { stream: shared[0]! } : {}), ...(recycle ? { recycle } : {}), ...pageRuns });
  }

  /** RAM blocks the main channel listed (MEM_SIZE). */
  get ramBlocks(): RamBlockInfo[] {
    return this.#mainDecoder.ramBlocks;
  }

  /** Multifd barriers seen on main so far. */
  get rounds(): number {
    return this.#barriers.count;
  }

  recordedMultifd(): RecordedMultifd {
    const f = this.#feeds ?? [];
    return {
      channels: this.#multifdChannels.length,
      layout: f.find((x) => x.layout)?.layout,
      compression: f.find((x) => x.compression)?.compression,
      uuid: f.find((x) => x.uuid)?.uuid,
    };
  }

  /** Bytes read so far per channel (progress). */
  progress(): Array<{ channel: string; bytes: number }> {
    return [{ channel: this.main.channel.name, bytes: this.main.bytes }, ...(this.#feeds ?? []).map((f) => ({ channel: f.cursor.channel.name, bytes: f.cursor.bytes }))];
  }

  async *events(): AsyncGenerator<OrderedEvent> {
    for (let r = await this.main.next(); r; r = await this.main.next()) {
      if (r.kind === 'page-run') {
        yield { kind: 'main-page-run', run: r.run, bytes: r.bytes };
        continue;
      }
      if (this.#multifdChannels.length && this.#barriers.observe(r)) yield* this.#drain(this.#barriers.count);
      yield { kind: 'main', record: r };
    }
    if (this.main.error) {
      if (!this.#collect) throw this.main.error;
      this.errors.push(this.main.error);
    }
    // Whatever multifd sent after the last barrier (nothing, in a completed migration).
    if (this.#multifdChannels.length) yield* this.#drain(Infinity);
  }

  async *#drain(round: number): AsyncGenerator<OrderedEvent> {
    this.#feeds ??= this.#multifdChannels.map((c, i) => new MultifdFeed(c, this.#mainDecoder.ramBlocks, this.#stablePages, this.#collect ? this.errors : undefined, this.#streams?.[i], this.#recycle));
    for (const f of this.#feeds) yield* f.until(round);
  }
}
