/** `migwire dump`: every record of every channel, for people (default) or machines (--json). */
import { isCodecError } from '@migwire/stream-codec';
import type { CodecRecord, PassedPageRun } from '@migwire/stream-codec';
import { decodeCapture, openCapture, type CaptureChannel, type ChannelResult } from '@migwire/capture';
import { blockLabel, bytesHuman, describe, hexOffset, printable } from '../format/human.js';
import { jsonLine, recordJson } from '../format/record-json.js';
import { PageJsonBytes } from '../format/page-json-bytes.js';
import { Summary } from '../format/summary.js';
import type { Output } from '../cli-io.js';
import { nameList, UsageError } from '../errors/usage-error.js';
import { channelNames, nothingDecoded } from '@migwire/capture';

export interface DumpOptions {
  json: boolean;
  /** Channel names, roles or connNN.dir to show. */
  channels: string[];
  /** Section ids or idstrs to show. */
  sections: string[];
  /** Leave out RAM page records. */
  noPages: boolean;
  /** List every page record instead of one line per run of pages. */
  pages: boolean;
  /** Show VMState fields of device sections. */
  fields: boolean;
  summary: boolean;
  /** Which migration of a pcap/pcapng holding several. */
  migration?: number;
  /** JSON: whole hex of every byte field, page payloads included (default: none, and hex cut at 64 bytes). */
  bytes?: boolean;
}

export function channelMatches(ch: CaptureChannel, wanted: string[]): boolean {
  if (wanted.length === 0) return true;
  const names = [ch.name, ch.role, `conn${String(ch.conn).padStart(2, '0')}.${ch.direction}`, `conn${String(ch.conn).padStart(2, '0')}`];
  if (ch.multifdId !== undefined) names.push(`multifd${ch.multifdId}`, `multifd:${ch.multifdId}`);
  return wanted.some((w) => names.includes(w));
}

const PAGE_KINDS = new Set(['ram-page', 'ram-zero', 'ram-xbzrle', 'ram-compressed']);

interface BlockCounts {
  page: number;
  zero: number;
  xbzrle: number;
  compressed: number;
  min: number;
  max: number;
}

/** Consecutive page records of one channel, folded into a line per block. */
class PageRun {
  private perBlock = new Map<string, BlockCounts>();
  private lastName: string | undefined;
  private lastBlock: BlockCounts | undefined;
  first = -1;
  last = 0;
  count = 0;

  add(r: Extract<CodecRecord, { kind: 'ram-page' | 'ram-zero' | 'ram-xbzrle' | 'ram-compressed' }>): void {
    if (this.first < 0) this.first = r.offset;
    this.last = r.offset + r.length;
    this.count++;
    // Runs of pages are of one block: its counts are kept at hand.
    const b = this.lastName === r.block && this.lastBlock ? this.lastBlock : this.counts(r.block);
    this.lastName = r.block;
    this.lastBlock = b;
    if (r.kind === 'ram-page') b.page++;
    else if (r.kind === 'ram-zero') b.zero++;
    else if (r.kind === 'ram-xbzrle') b.xbzrle++;
    else b.compressed++;
    if (r.pageOffset < b.min) b.min = r.pageOffset;
    if (r.pageOffset > b.max) b.max = r.pageOffset;
  }

  /** A run of page records the decoder took whole: the same counts as its records one by one. */
  addRun(run: PassedPageRun): void {
    if (this.first < 0) this.first = run.start;
    this.last = run.end;
    this.count += run.records;
    for (const r of run.blocks) {
      const b = this.counts(r.block);
      b.page += r.pages;
      b.zero += r.zeros;
      if (r.minOffset < b.min) b.min = r.minOffset;
      if (r.maxOffset > b.max) b.max = r.maxOffset;
    }
    this.lastName = undefined;
    this.lastBlock = undefined;
  }

  private counts(block: string): BlockCounts {
    let b = this.perBlock.get(block);
    if (!b) this.perBlock.set(block, (b = { page: 0, zero: 0, xbzrle: 0, compressed: 0, min: Infinity, max: -1 }));
    return b;
  }

  lines(channel: string): string[] {
    if (this.count === 0) return [];
    const out: string[] = [];
    for (const [name, b] of this.perBlock) {
      const parts = [b.page && `${b.page} pages`, b.zero && `${b.zero} zero`, b.xbzrle && `${b.xbzrle} xbzrle`, b.compressed && `${b.compressed} compressed`].filter(Boolean);
      out.push(row(channel, this.first, this.last - this.first, `  RAM ${blockLabel(name)}: ${parts.join(', ')} (offsets 0x${b.min.toString(16)}..0x${b.max.toString(16)})`));
    }
    this.perBlock.clear();
    this.lastName = undefined;
    this.lastBlock = undefined;
    this.first = -1;
    this.count = 0;
    return out;
  }
}

function row(channel: string, offset: number, length: number, text: string): string {
  return printable(`${channel.padEnd(16)} ${hexOffset(offset)} ${String(length).padStart(8)}  ${text}`);
}

export async function dump(path: string, o: DumpOptions, out: Output): Promise<number> {
  const input = await openCapture(path, { migration: o.migration });
  const unknown = o.channels.filter((w) => !input.channels.some((ch) => channelMatches(ch, [w])));
  if (unknown.length) throw new UsageError(`--channel ${unknown.join(', ')}: no such channel in ${path} (channels: ${nameList(channelNames(input.channels))})`);
  const summary = new Summary();
  const pageLines = new PageJsonBytes();
  const sectionsSeen = new Set<string>();
  const runs = new Map<string, PageRun>();
  const sectionNames = new Map<string, string>(); // "channel/id" -> idstr
  const sectionOf = (ch: string, r: CodecRecord): string | undefined => {
    if ('sectionId' in r) return `${r.sectionId}`;
    return undefined;
  };
  const sectionWanted = (ch: string, r: CodecRecord): boolean => {
    if (o.sections.length === 0) return true;
    const id = sectionOf(ch, r);
    if (id === undefined) return false;
    const idstr = (r.kind === 'section' || r.kind === 'device-state' ? r.idstr : undefined) ?? sectionNames.get(`${ch}/${id}`);
    return o.sections.includes(id) || (idstr !== undefined && o.sections.includes(idstr));
  };
  if (!o.json) {
    out.line(printable(`# ${input.kind === 'stdin' && input.path !== '-' ? 'stream' : input.kind} ${input.path}: ${input.channels.map((c) => `${c.name} (${c.size !== undefined ? bytesHuman(c.size) : 'stream'})`).join(', ')}`));
    for (const n of input.notices ?? []) out.line(printable(`# note: ${n}`));
    out.line(`${'channel'.padEnd(16)} ${'offset'.padEnd(10)} ${'length'.padStart(8)}  record`);
  } else for (const n of input.notices ?? []) out.line(JSON.stringify({ kind: 'notice', message: n }));
  const flush = (ch: string): void => {
    const run = runs.get(ch);
    if (run) for (const l of run.lines(ch)) out.line(l);
  };
  const results = await decodeCapture(input, {
    only: (ch) => channelMatches(ch, o.channels),
    vmdescPrepass: o.fields,
    // Page bytes are never shown unless asked for: the decoder need not hand them out.
    skipPagePayloads: !(o.json && o.bytes),
    // Every record is printed (or counted) before the next: its bytes need not outlive the call.
    transientViews: true,
    onRecord: (ch: CaptureChannel, r: CodecRecord) => {
      summary.add(ch.name, r);
      if (r.kind === 'section') {
        sectionNames.set(`${ch.name}/${r.sectionId}`, r.idstr);
        sectionsSeen.add(String(r.sectionId)).add(r.idstr);
      }
      const isPage = PAGE_KINDS.has(r.kind);
      if (isPage && o.noPages) return;
      if (!sectionWanted(ch.name, r)) return;
      if (o.json) {
        if (!o.bytes && pageLines.select(ch.name, r)) out.lineFrom(pageLines);
        else out.line(recordJson(ch.name, r, { bytes: o.bytes === true }));
        return;
      }
      if (isPage && !o.pages) {
        let run = runs.get(ch.name);
        if (!run) runs.set(ch.name, (run = new PageRun()));
        run.add(r as Parameters<PageRun['add']>[0]);
        return;
      }
      flush(ch.name);
      out.line(row(ch.name, r.offset, r.length, describe(r)));
      if (o.fields && r.kind === 'device-state' && r.vmstate) {
        for (const f of r.vmstate.fields) out.line(printable(`${' '.repeat(40)}${f.name} (${f.type}) = ${JSON.stringify(f.value)}`));
        for (const s of r.vmstate.subsections) out.line(printable(`${' '.repeat(40)}[${s.name} v${s.version}] ${JSON.stringify(s.fields.map((f) => [f.name, f.value]))}`));
      }
    },
    // Runs of pages found ahead by a worker (large plain files), where each page would only be
    // counted, or listed from the numbers the run keeps of each record (JSON without page bytes).
    ...((o.json ? !o.bytes : !o.pages) && o.sections.length === 0
      ? {
          pageRunDetail: o.json,
          onPageRun: (ch: CaptureChannel, run: PassedPageRun) => {
            summary.addPageRun(run);
            if (o.noPages) return;
            if (o.json) {
              pageLines.writeRun(ch.name, run, out);
              return;
            }
            let pr = runs.get(ch.name);
            if (!pr) runs.set(ch.name, (pr = new PageRun()));
            pr.addRun(run);
          },
        }
      : {}),
    onChannelEnd: (res: ChannelResult) => {
      if (!o.json) flush(res.channel.name);
      summary.channel(res);
      if (res.error && !o.json) out.line(row(res.channel.name, res.error.offset, 0, `ERROR ${res.error.message}`));
      if (res.error && o.json) out.line(jsonLine({ kind: 'error', ...res.error.toJSON() }));
      if (res.skipped && !o.json) out.line(printable(`${res.channel.name.padEnd(16)} (not decoded: ${res.skipped})`));
    },
  });
  // A --section that named nothing is a usage error: no summary of a listing that showed nothing.
  const unknownSections = o.sections.filter((w) => !sectionsSeen.has(w));
  const decodedWell = !results.some((r) => r.error) && !nothingDecoded(path, results);
  if (unknownSections.length && decodedWell) throw new UsageError(`--section ${unknownSections.join(', ')}: no such section id or idstr in ${path} (sections: ${nameList([...sectionsSeen].filter((n) => !/^\d+$/.test(n)))})`);
  if (o.summary) {
    if (o.json) out.line(jsonLine({ kind: 'summary', ...summary.toJSON() }));
    else for (const l of summary.lines()) out.line(printable(l));
  }
  for (const r of results) if (r.error) out.err(`migwire: ${r.error.message}`);
  if (results.some((r) => r.error)) return 1;
  const nothing = nothingDecoded(path, results);
  if (nothing) {
    out.err(`migwire: ${nothing}`);
    return 1;
  }
  return 0;
}

export { isCodecError };
