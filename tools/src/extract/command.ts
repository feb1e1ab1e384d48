/**
 * `migwire extract`: rebuild the destination's RAM from every channel of a
 * migration, applying pages in the order the destination would. The main
 * channel's barriers (MULTIFD_FLUSH since 8.0, else each RAM EOS) wait for
 * one SYNC from every multifd channel, so the multifd pages of round k are
 * applied when main reaches its k-th barrier; postcopy-preempt pages come
 * after main (each page is sent once after postcopy starts).
 */
import { CodecError, MainStreamDecoder, RESUMED_BLOCK_UNKNOWN, forEachRunPage, isCodecError, type MainRecord } from '@migwire/stream-codec';
import { CaptureError, ChannelCursor, channelOrder, midStreamText, notAMigrationStream, openCapture, verifyChannels, type CaptureChannel } from '@migwire/capture';
import { DestinationOrderReader, multifdChannelShortfall } from '@migwire/sync';
import { nameList, UsageError } from '../errors/usage-error.js';
import { incompleteStream } from '@migwire/capture';
import { ImageLimitError, MappedRamRegion, RamImages, type BlockSummary } from '../extract/ram-images.js';
import { PageRequests } from '../extract/page-requests.js';

const ROLE_TEXT: Partial<Record<string, string>> = { other: 'not a migration stream', empty: 'empty', tls: 'TLS-encrypted' };
import { bytesHuman, printable } from '../format/human.js';
import type { Output } from '../cli-io.js';

export interface ExtractOptions {
  outDir: string;
  blocks: string[];
  quiet: boolean;
  /** Which migration of a pcap/pcapng holding several. */
  migration?: number;
  /** Write into a folder that is not empty (files of the same name replaced, never through a link). */
  force?: boolean;
  /** Refuse RAM blocks that would make the images larger than this (default 64 GiB). */
  maxImageBytes?: number;
}

export interface ExtractReport {
  blocks: BlockSummary[];
  rounds: number;
  /**
   * Why the images may not be the destination's RAM: a channel's decode error (the channel
   * stopped there), or a source's channel of no migration role whose pages, if any, are missing.
   */
  errors: string[];
  /** The main channel was captured mid-stream: the images hold only the pages captured. */
  partial?: PartialImage;
}

export interface PartialImage {
  /** The main channel, and how many captured bytes came before its first RAM record. */
  channel: string;
  skipped: number;
  /**
   * Pages of the block named before the capture began (CONTINUE pages before any record named a
   * block): which block they belong to is not certain, so they are written nowhere.
   */
  unattributedPages: number;
  /** XBZRLE pages whose previous content was sent before the capture began: left out. */
  xbzrleWithoutBase: number;
}

export async function runExtract(path: string, o: ExtractOptions, progress?: (s: string) => void): Promise<ExtractReport> {
  const input = await openCapture(path, { migration: o.migration });
  const chans = channelOrder(input.channels);
  const main = chans.find((c) => c.role === 'main');
  if (!main) throw new CaptureError(`${path} has no main channel to rebuild RAM from (channels: ${chans.map((c) => `${c.name}: ${ROLE_TEXT[c.role] ?? c.role}`).join(', ')})`, path);
  // Without the stream's start there is no MEM_SIZE block list: images are made as pages name their blocks.
  const partial: PartialImage | undefined = main.midStream ? { channel: main.name, skipped: main.midStream.skipped, unattributedPages: 0, xbzrleWithoutBase: 0 } : undefined;
  const images = new RamImages(o.outDir, 4096, o.blocks.length ? new Set(o.blocks) : undefined, {
    ...(o.force ? { force: true } : {}),
    ...(o.maxImageBytes !== undefined ? { maxImageBytes: o.maxImageBytes } : {}),
    ...(partial ? { unlisted: true } : {}),
  });
  const errors: string[] = [];
  // Pages are written as they come: no copy of decompressed multifd pages needed.
  // Each main record is applied before the next is read: main read buffers are reused once no queued write holds them.
  const requests = new PageRequests(chans);
  // Main's runs of pages come whole, unless each page record is to be held to the destination's requests.
  const reader = new DestinationOrderReader(input, { stablePages: false, collectErrors: true, mainBuffersInUse: (b) => images.inUse(b), pageRuns: !requests.watching });
  let listed = false;
  let namesChecked = false;
  const refuseUnknownBlocks = async (): Promise<void> => {
    const known = partial ? images.names() : reader.ramBlocks.map((b) => b.name);
    const unknown = o.blocks.filter((b) => !known.includes(b));
    if (!unknown.length) return;
    // A usage error leaves nothing behind: not the images of the blocks that were found, not the folder.
    await images.removeOutput();
    throw new UsageError(`--block ${unknown.join(', ')}: no such RAM block ${partial ? 'named in the captured part of' : 'in'} ${path} (blocks: ${nameList(known)})`);
  };
  let region: MappedRamRegion | undefined;
  let last: MainRecord | undefined;
  let ended = false;
  let lastProgress = Date.now();
  const tick = (): void => {
    if (progress && Date.now() - lastProgress > 1000) {
      lastProgress = Date.now();
      progress(`extract: ${reader.progress().map((c) => `${c.channel} ${bytesHuman(c.bytes)}`).join(', ')}, round ${reader.rounds}`);
    }
  };
  try {
    for await (const e of reader.events()) {
      tick();
      const wait = images.ready();
      if (wait) await wait;
      if (e.kind === 'multifd-pages') {
        for (const p of e.pages) {
          if (p.data) {
            if (images.has(p.block)) images.writePage(p.block, p.offset, p.data);
          } else images.zeroPage(p.block, p.offset);
        }
        continue;
      }
      // The block list (MEM_SIZE) is read once main goes on to anything else: a --block that names
      // none is refused before more is written.
      if (e.kind === 'main' && e.record.kind === 'ram-block') listed = true;
      else if (listed && !namesChecked && !(e.kind === 'main' && e.record.kind === 'mapped-ram-data')) {
        namesChecked = true;
        await refuseUnknownBlocks();
      }
      if (e.kind === 'main-page-run') {
        last = e.run.last;
        // A view of a read buffer: stays valid until written.
        forEachRunPage(e.bytes, e.run.pageSize, e.run.blocks[0]!.block, (block, offset, data, fill) => (data ? images.writePage(block, offset, data, true) : images.zeroPage(block, offset, fill)));
        continue;
      }
      const r = e.record;
      last = r;
      requests.main(r);
      if (r.kind === 'eof' && r.depth === 0) ended = true;
      // A later record naming a block may name another one: these pages stay unattributed.
      if (partial && 'block' in r && r.block === RESUMED_BLOCK_UNKNOWN) {
        if (r.kind === 'ram-page' || r.kind === 'ram-zero' || r.kind === 'ram-xbzrle' || r.kind === 'ram-compressed') partial.unattributedPages++;
        continue;
      }
      switch (r.kind) {
        case 'ram-block':
          images.addBlock(r.block);
          region = images.has(r.block.name) ? MappedRamRegion.of(r.block, r.offset + r.length, images) : undefined;
          break;
        case 'mapped-ram-data':
          region?.feed(r.data);
          break;
        case 'ram-page':
          // A view of a read buffer: stays valid until written.
          images.writePage(r.block, r.pageOffset, r.data, true);
          break;
        case 'ram-zero':
          images.zeroPage(r.block, r.pageOffset, r.fill);
          break;
        case 'ram-xbzrle':
          if (!images.xbzrle(r.block, r.pageOffset, r.delta) && partial) partial.xbzrleWithoutBase++;
          break;
        case 'command':
          if (r.args.command === 'POSTCOPY_RAM_DISCARD') {
            // A range beyond 2^53 lies beyond every block: nothing to zero.
            for (const d of r.args.ranges) if (typeof d.start === 'number' && typeof d.length === 'number') images.discard(r.args.block, d.start, d.length);
          }
          break;
      }
    }
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    errors.push(e.message);
  }
  errors.unshift(...reader.errors.map((e) => e.message));
  if (!errors.length && !ended) errors.push(incompleteStream(main, last ? last.offset + last.length : 0, last).message);
  if (!namesChecked) await refuseUnknownBlocks();
  // Then the postcopy-preempt channel (each page is sent once after postcopy starts).
  const preempt = chans.find((c) => c.role === 'postcopy-preempt');
  if (preempt) {
    const cur = new ChannelCursor<MainRecord>(preempt, new MainStreamDecoder({ channel: preempt.name, start: 'ram', ramBlocks: reader.ramBlocks }));
    for (let r = await cur.next(); r; r = await cur.next()) {
      requests.preempt(r);
      if (r.kind === 'ram-page') images.writePage(r.block, r.pageOffset, r.data, true);
      else if (r.kind === 'ram-zero') images.zeroPage(r.block, r.pageOffset, r.fill);
      const wait = images.ready();
      if (wait) await wait;
    }
    if (cur.error) errors.push(cur.error.message);
  }
  for (const s of input.shortfalls ?? []) errors.push(`${RECORDING_SHORT}${s.message}`);
  // A page the destination asked for that no channel brought: the images lack it (a preempt channel cut short).
  const unserved = await requests.unserved();
  if (unserved) errors.push(`${PAGES_MISSING}${unserved}`);
  // meta.json says how many multifd channels there were: one emptied or never recorded is seen only so.
  const fewer = multifdChannelShortfall(input);
  if (fewer) errors.push(`${MISSING_CHANNELS}${fewer}: the pages sent on the others are not in the images`);
  // The destination's side holds no page: only the source's unreadable connections can lack some.
  for (const ch of chans) if (ch.direction === 'src2dst' && notAMigrationStream(input, ch)) errors.push(`${NOT_APPLIED}${await whyUnreadable(ch)}`);
  // The destination's side holds no page, but index.json's promise about it is held all the same.
  await verifyChannels(input.channels.filter((c) => c.direction === 'dst2src'));
  return { blocks: await images.finish(), rounds: reader.rounds, errors, ...(partial ? { partial } : {}) };
}

const NOT_APPLIED = 'not applied (the images may lack its pages): ';
const MISSING_CHANNELS = 'channels missing: ';
const RECORDING_SHORT = 'recording short: ';
const PAGES_MISSING = 'pages missing: ';
/** Findings about what the capture lacks, printed as they are (the others say where decoding stopped). */
const AS_FOUND = [NOT_APPLIED, MISSING_CHANNELS, RECORDING_SHORT, PAGES_MISSING];

/** The codec's reason a channel's first bytes are no migration stream (read only as far as that). */
async function whyUnreadable(ch: CaptureChannel): Promise<string> {
  const cur = new ChannelCursor<MainRecord>(ch, new MainStreamDecoder({ channel: ch.name }));
  await cur.next();
  return cur.error?.message ?? `${ch.name}: its first bytes name no migration channel`;
}

/** What a partial image is, for stderr: why, and what was left out. */
function partialLines(p: PartialImage, main: string): string[] {
  const lines = [`the images are partial: the stream's start was not captured (${main}); they hold only the pages captured (the rest read as zero), each block's length ends at its last captured page`];
  if (p.unattributedPages) lines.push(`${p.unattributedPages} page(s) of the block named before the capture began are not attributed to any block (not written)`);
  if (p.xbzrleWithoutBase) lines.push(`${p.xbzrleWithoutBase} XBZRLE page(s) whose previous content was sent before the capture began are not written`);
  return lines;
}

export async function extract(path: string, o: ExtractOptions, out: Output): Promise<number> {
  let report: ExtractReport;
  try {
    report = await runExtract(path, o, o.quiet ? undefined : (s) => out.err(s));
  } catch (e) {
    if (isCodecError(e) || e instanceof ImageLimitError) {
      out.err(printable(`migwire: ${e.message}`));
      return 1;
    }
    throw e;
  }
  for (const b of report.blocks) out.line(printable(`${b.name.padEnd(28)} -> ${b.file.padEnd(32)} ${bytesHuman(b.length).padStart(10)}  ${b.pagesWritten} pages with data`));
  out.line(`${report.rounds} multifd sync rounds applied`);
  const p = report.partial;
  if (p) {
    out.line(`partial: the stream's start was not captured; ${p.unattributedPages} unattributed page(s), ${p.xbzrleWithoutBase} XBZRLE page(s) without a base`);
    for (const l of partialLines(p, `main channel ${midStreamText({ name: p.channel, midStream: { skipped: p.skipped } })}`)) out.err(`migwire: ${l}`);
  }
  for (const e of report.errors) out.err(printable(`migwire: ${AS_FOUND.some((p) => e.startsWith(p)) ? e : `stopped early: ${e}`}`));
  // A partial image is not the RAM the destination had: like an incomplete stream, exit 1.
  return report.errors.length || p ? 1 : 0;
}
