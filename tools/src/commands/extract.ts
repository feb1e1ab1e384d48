/**
 * `migwire extract`: rebuild the destination's RAM from every channel of a
 * migration, applying pages in the order the destination would. The main
 * channel's barriers (MULTIFD_FLUSH since 8.0, else each RAM EOS) wait for
 * one SYNC from every multifd channel, so the multifd pages of round k are
 * applied when main reaches its k-th barrier; postcopy-preempt pages come
 * after main (each page is sent once after postcopy starts).
 */
import {
  CodecError,
  PayloadProblem,
  MainStreamDecoder,
  MultifdDecoder,
  MultifdPageDecoder,
  isCodecError,
  type MainRecord,
  type MultifdRecord,
  type RamBlockInfo,
} from '@migwire/stream-codec';
import { openInput, type ChannelInput } from '../input/capture.js';
import { ChannelCursor } from '../decode/cursor.js';
import { channelOrder } from '../decode/channels.js';
import { MappedRamRegion, RamImages } from '../extract/ram-images.js';
import { bytesHuman } from '../format/human.js';
import type { Output } from '../cli-io.js';

export interface ExtractOptions {
  outDir: string;
  blocks: string[];
  quiet: boolean;
}

export interface ExtractReport {
  blocks: Array<{ name: string; file: string; length: number; pagesWritten: number }>;
  rounds: number;
  errors: string[];
}

class MultifdFeed {
  readonly cursor: ChannelCursor<MultifdRecord>;
  private readonly pages = new MultifdPageDecoder();
  syncs = 0;

  constructor(ch: ChannelInput, blocks: RamBlockInfo[]) {
    this.cursor = new ChannelCursor<MultifdRecord>(ch, new MultifdDecoder({ channel: ch.name, ramBlocks: blocks }));
  }

  /** Apply packets until this channel has delivered `round` SYNCs (or ends). */
  async until(round: number, images: RamImages): Promise<void> {
    while (this.syncs < round) {
      const r = await this.cursor.next();
      if (!r) return;
      if (r.kind !== 'multifd-packet') continue;
      // Every payload goes through the channel's decompressor, extracted block or not: a zlib or
      // zstd stream runs across all the packets of its channel.
      let pages;
      try {
        pages = this.pages.pages(r);
      } catch (e) {
        if (e instanceof PayloadProblem) throw new CodecError({ code: e.code, channel: this.cursor.channel.name, offset: r.offset + 1344 + e.at, message: e.message, ...(e.expected !== undefined ? { expected: e.expected } : {}), ...(e.found !== undefined ? { found: e.found } : {}) });
        throw e;
      }
      if (images.has(r.block)) for (const p of pages) images.writePage(r.block, p.offset, p.data);
      for (const o of r.zeroOffsets) images.zeroPage(r.block, o);
      if (r.sync) this.syncs++;
    }
  }
}

export async function runExtract(path: string, o: ExtractOptions, progress?: (s: string) => void): Promise<ExtractReport> {
  const input = openInput(path);
  const chans = channelOrder(input.channels);
  const mainCh = chans.find((c) => c.role === 'main');
  if (!mainCh) throw new Error(`${path} has no main channel`);
  const images = new RamImages(o.outDir, 4096, o.blocks.length ? new Set(o.blocks) : undefined);
  const errors: string[] = [];
  const mainDec = new MainStreamDecoder({ channel: mainCh.name });
  const main = new ChannelCursor<MainRecord>(mainCh, mainDec);
  let feeds: MultifdFeed[] | undefined;
  const multifdChans = chans.filter((c) => c.role === 'multifd');
  let barrier: 'flush' | 'eos' | undefined;
  let round = 0;
  let region: MappedRamRegion | undefined;
  let lastProgress = Date.now();
  const tick = (): void => {
    if (progress && Date.now() - lastProgress > 1000) {
      lastProgress = Date.now();
      progress(`extract: main ${bytesHuman(main.bytes)}${feeds ? ', ' + feeds.map((f) => `${f.cursor.channel.name} ${bytesHuman(f.cursor.bytes)}`).join(', ') : ''}, round ${round}`);
    }
  };
  const onBarrier = async (): Promise<void> => {
    round++;
    feeds ??= multifdChans.map((c) => new MultifdFeed(c, mainDec.ramBlocks));
    for (const f of feeds) await f.until(round, images);
  };
  try {

  for (let r = await main.next(); r; r = await main.next()) {
    tick();
    switch (r.kind) {
      case 'ram-block':
        images.addBlock(r.block);
        region = r.block.mappedRam && images.has(r.block.name) ? new MappedRamRegion({ ...r.block, mappedRam: r.block.mappedRam }, r.offset + r.length, images) : undefined;
        break;
      case 'mapped-ram-data':
        region?.feed(r.data);
        break;
      case 'ram-page':
        images.writePage(r.block, r.pageOffset, r.data);
        break;
      case 'ram-zero':
        images.zeroPage(r.block, r.pageOffset, r.fill);
        break;
      case 'ram-xbzrle':
        images.xbzrle(r.block, r.pageOffset, r.delta);
        break;
      case 'command':
        if (r.args.command === 'POSTCOPY_RAM_DISCARD') for (const d of r.args.ranges) images.discard(r.args.block, d.start, d.length);
        break;
      case 'ram-multifd-flush':
        barrier ??= 'flush';
        if (barrier === 'flush' && multifdChans.length) await onBarrier();
        break;
      case 'ram-eos':
        barrier ??= 'eos';
        if (barrier === 'eos' && multifdChans.length) await onBarrier();
        break;
    }
  }
  if (main.error) errors.push(main.error.message);
  // Whatever multifd sent after the last barrier (nothing, in a completed migration).
  feeds ??= multifdChans.map((c) => new MultifdFeed(c, mainDec.ramBlocks));
  for (const f of feeds) {
    await f.until(Infinity, images);
    if (f.cursor.error) errors.push(f.cursor.error.message);
  }
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    errors.push(e.message);
  }
  const preempt = chans.find((c) => c.role === 'postcopy-preempt');
  if (preempt) {
    const cur = new ChannelCursor<MainRecord>(preempt, new MainStreamDecoder({ channel: preempt.name, start: 'ram', ramBlocks: mainDec.ramBlocks }));
    for (let r = await cur.next(); r; r = await cur.next()) {
      if (r.kind === 'ram-page') images.writePage(r.block, r.pageOffset, r.data);
      else if (r.kind === 'ram-zero') images.zeroPage(r.block, r.pageOffset, r.fill);
    }
    if (cur.error) errors.push(cur.error.message);
  }
  return { blocks: images.finish(), rounds: round, errors };
}

export async function extract(path: string, o: ExtractOptions, out: Output): Promise<number> {
  let report: ExtractReport;
  try {
    report = await runExtract(path, o, o.quiet ? undefined : (s) => out.err(s));
  } catch (e) {
    if (isCodecError(e)) {
      out.err(`migwire: ${e.message}`);
      return 1;
    }
    throw e;
  }
  for (const b of report.blocks) out.line(`${b.name.padEnd(28)} -> ${b.file.padEnd(32)} ${bytesHuman(b.length).padStart(10)}  ${b.pagesWritten} pages with data`);
  out.line(`${report.rounds} multifd sync rounds applied`);
  for (const e of report.errors) out.err(`migwire: stopped early: ${e}`);
  return report.errors.length ? 1 : 0;
}
