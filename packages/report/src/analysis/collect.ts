/**
 * One streaming pass over every channel of a capture: rounds, page sends, commands, return-path
 * messages and postcopy arrivals, with each record placed on the timeline. Records are looked at
 * and dropped; what is kept is per-page typed arrays, per-round counters and bounded lists.
 */
import { channelBytes, notAMigrationStream, streamStartOptions, type ArrivalTimes, type Capture, type CaptureChannel } from '@migwire/capture';
import type { MainRecord, MultifdRecord, RamBlockInfo, ReturnPathRecord } from '@migwire/stream-codec';
import { CapabilityEvidence } from '@migwire/sync';
import { decoderFor, isCodecError, type AnyRecord } from '../decode/decoders.js';
import { PageTable } from './page-table.js';
import type { TimelineBuilder } from './timeline.js';
import type { CapabilitiesSeen, ChannelSummary } from './types.js';

const MiB = 1024 * 1024;
/** Page requests kept one by one; more are only counted. */
const MAX_REQUESTS = 20000;

export interface RoundAcc {
  pages: number;
  zeroPages: number;
  xbzrlePages: number;
  bytes: number;
  perChannel: Record<string, number>;
  start?: number;
  end?: number;
}

export interface RequestAcc {
  x: number | undefined;
  block: string;
  start: number;
  length: number;
  offset: number;
}

export interface Collected {
  channels: ChannelSummary[];
  caps: CapabilitiesSeen;
  machine?: string;
  pages: PageTable;
  rounds: Map<number, RoundAcc>;
  switchoverStart?: number;
  /** When SWITCHOVER_ACK arrived on the return path. */
  switchoverAckAt?: number;
  postcopyListen?: number;
  postcopyRun?: number;
  end?: number;
  completed: boolean;
  /** Pages on main after POSTCOPY_LISTEN and on the preempt channel. */
  postcopyPages: { main: number; preempt: number };
  requests: RequestAcc[];
  requestCount: number;
  rpCounts: Record<string, number>;
}

const ROLE_ORDER: Record<string, number> = { main: 0, 'return-path': 1, multifd: 2, 'postcopy-preempt': 3 };

export async function collect(capture: Capture, arrivals: ArrivalTimes | undefined, timeline: TimelineBuilder, pageSize = 4096): Promise<Collected> {
  const xOf = (ch: CaptureChannel, offset: number): number | undefined =>
    arrivals ? arrivals.at(ch.conn, ch.direction, offset) : ch.role === 'main' ? offset / MiB : undefined;
  const c: Collected = {
    channels: [],
    caps: { multifd: 0, xbzrle: false, legacyCompress: false, postcopy: false, preempt: false, dirtyBitmaps: false, switchoverAck: false, returnPath: false, tls: false, configuration: [] },
    pages: new PageTable(pageSize),
    rounds: new Map(),
    completed: false,
    postcopyPages: { main: 0, preempt: 0 },
    requests: [],
    requestCount: 0,
    rpCounts: {},
  };
  const roundAcc = (r: number): RoundAcc => {
    let a = c.rounds.get(r);
    if (!a) c.rounds.set(r, (a = { pages: 0, zeroPages: 0, xbzrlePages: 0, bytes: 0, perChannel: {} }));
    return a;
  };
  const countPage = (ch: CaptureChannel, round: number, block: string, pageOffset: number, x: number | undefined, kind: 'page' | 'zero' | 'xbzrle'): RoundAcc => {
    const a = roundAcc(round);
    a.pages++;
    if (kind === 'zero') a.zeroPages++;
    if (kind === 'xbzrle') a.xbzrlePages++;
    a.perChannel[ch.name] = (a.perChannel[ch.name] ?? 0) + 1;
    if (x !== undefined) {
      a.start = a.start === undefined ? x : Math.min(a.start, x);
      a.end = a.end === undefined ? x : Math.max(a.end, x);
    }
    const i = c.pages.index(block, pageOffset);
    if (i >= 0) c.pages.send(i, round);
    return a;
  };

  let barrier: 'flush' | 'eos' | undefined;
  let mainRound = 0;
  let lastRequestBlock = '';
  let ramBlocks: RamBlockInfo[] | undefined;

  const onMain = (ch: CaptureChannel, m: MainRecord): void => {
    const x = xOf(ch, m.offset);
    switch (m.kind) {
      case 'configuration':
        c.machine = m.machine;
        for (const s of m.subsections) if (s.name === 'configuration/capabilities') c.caps.configuration = [...s.capabilities];
        break;
      case 'ram-block':
        c.pages.addBlock(m.block.name, m.block.usedLength);
        break;
      case 'ram-multifd-flush':
      case 'ram-eos': {
        // The first barrier kind seen counts rounds (MULTIFD_FLUSH since 8.0, else RAM EOS), as `check` does.
        const kind = m.kind === 'ram-eos' ? 'eos' : 'flush';
        barrier ??= kind;
        if (barrier === kind) mainRound++;
        break;
      }
      case 'ram-page':
      case 'ram-zero':
      case 'ram-xbzrle':
      case 'ram-compressed': {
        if (m.kind === 'ram-xbzrle') c.caps.xbzrle = true;
        if (m.kind === 'ram-compressed') c.caps.legacyCompress = true;
        if (c.postcopyListen !== undefined) {
          c.postcopyPages.main++;
          const i = c.pages.index(m.block, m.pageOffset);
          if (i >= 0 && x !== undefined) c.pages.postcopyArrival(i, 'main', x);
        } else {
          countPage(ch, mainRound, m.block, m.pageOffset, x, m.kind === 'ram-zero' ? 'zero' : m.kind === 'ram-xbzrle' ? 'xbzrle' : 'page').bytes += m.length;
        }
        break;
      }
      case 'command': {
        const name = m.args.command;
        if (name === 'SWITCHOVER_START') {
          c.switchoverStart ??= x;
          timeline.mark('switchover-start', x, 'SWITCHOVER_START', { channel: ch.name, offset: m.offset });
        }
        if (name === 'POSTCOPY_LISTEN' && c.postcopyListen === undefined) {
          c.postcopyListen = x ?? Number.NaN;
          timeline.mark('postcopy-listen', x, 'POSTCOPY_LISTEN', { channel: ch.name, offset: m.offset });
        }
        if (name === 'POSTCOPY_RUN' && c.postcopyRun === undefined) {
          c.postcopyRun = x ?? Number.NaN;
          timeline.mark('postcopy-run', x, 'POSTCOPY_RUN', { channel: ch.name, offset: m.offset });
        }
        break;
      }
      case 'eof':
        if (m.depth === 0) {
          c.completed = true;
          c.end = x;
          timeline.mark('end', x, 'end of stream (EOF)', { channel: ch.name, offset: m.offset });
        }
        break;
    }
  };

  const multifdRound = new Map<string, number>();
  const onMultifd = (ch: CaptureChannel, m: MultifdRecord): void => {
    if (m.kind !== 'multifd-packet') return;
    const x = xOf(ch, m.offset);
    const round = multifdRound.get(ch.name) ?? 0;
    const pages = m.normalOffsets.length + m.zeroOffsets.length;
    if (pages > 0) {
      let a: RoundAcc | undefined;
      for (const o of m.normalOffsets) a = countPage(ch, round, m.block, o, x, 'page');
      for (const o of m.zeroOffsets) a = countPage(ch, round, m.block, o, x, 'zero');
      a!.bytes += m.length;
    }
    if (m.sync) multifdRound.set(ch.name, round + 1);
  };

  const onReturnPath = (ch: CaptureChannel, m: ReturnPathRecord): void => {
    const x = xOf(ch, m.offset);
    const name = m.kind === 'rp-message' ? m.name : 'RECV_BITMAP data';
    c.rpCounts[name] = (c.rpCounts[name] ?? 0) + 1;
    timeline.mark('return-path', x, name, { channel: ch.name, offset: m.offset });
    if (m.kind !== 'rp-message') return;
    const a = m.args;
    if (a.message === 'SWITCHOVER_ACK') c.switchoverAckAt ??= x;
    if (a.message === 'REQ_PAGES_ID' || a.message === 'REQ_PAGES') {
      if (a.message === 'REQ_PAGES_ID') lastRequestBlock = a.block;
      c.requestCount++;
      // A start beyond 2^53 names no page of any block: counted, not listed (it would print rounded).
      if (c.requests.length < MAX_REQUESTS && typeof a.start === 'number') c.requests.push({ x, block: lastRequestBlock, start: a.start, length: a.length, offset: m.offset });
    }
  };

  const onPreempt = (ch: CaptureChannel, m: MainRecord): void => {
    if (m.kind !== 'ram-page' && m.kind !== 'ram-zero') return;
    c.postcopyPages.preempt++;
    const x = xOf(ch, m.offset);
    const i = c.pages.index(m.block, m.pageOffset);
    if (i >= 0 && x !== undefined) c.pages.postcopyArrival(i, 'postcopy-preempt', x);
  };

  const evidence = new CapabilityEvidence();
  const channels = [...capture.channels].sort((a, b) => (ROLE_ORDER[a.role] ?? 9) - (ROLE_ORDER[b.role] ?? 9) || (a.multifdId ?? 0) - (b.multifdId ?? 0) || a.conn - b.conn);
  for (const ch of channels) {
    evidence.channel(ch);
    const summary: ChannelSummary = { name: ch.name, role: ch.role, direction: ch.direction, bytes: 0, records: 0, ...(ch.midStream ? { midStream: { ...ch.midStream } } : {}) };
    c.channels.push(summary);
    // Bytes that should be a stream and are not stop at their first bytes with the codec's
    // reason, as in every reader, instead of being read to their end (/dev/zero has none).
    const role = notAMigrationStream(capture, ch) ? 'main' : ch.role;
    const dec = decoderFor(role, { channel: ch.name, ...(ramBlocks ? { ramBlocks } : {}), ...streamStartOptions(ch) });
    const onRecord = (r: AnyRecord): void => {
      summary.records++;
      evidence.observe(ch, r);
      if (ch.role === 'main') onMain(ch, r as MainRecord);
      else if (ch.role === 'multifd') onMultifd(ch, r as MultifdRecord);
      else if (ch.role === 'return-path') onReturnPath(ch, r as ReturnPathRecord);
      else if (ch.role === 'postcopy-preempt') onPreempt(ch, r as MainRecord);
    };
    if (!dec) summary.skipped = ch.role === 'empty' ? 'no bytes' : ch.role.includes('tls') ? 'TLS-encrypted' : 'unrecognised first bytes';
    try {
      // Plain files by positioned synchronous reads (no stream machinery; see channelBytes).
      for await (const chunk of channelBytes(ch)) {
        // Each byte at its own arrival time: a read chunk (128 KiB, or a gzip stream's) spans many arrivals.
        if (arrivals) for (const [t, n] of arrivals.pieces(ch.conn, ch.direction, summary.bytes, chunk.length)) timeline.addBytes(ch.name, t, n, ch.direction === 'src2dst');
        else timeline.addBytes(ch.name, xOf(ch, summary.bytes), chunk.length, ch.direction === 'src2dst');
        summary.bytes += chunk.length;
        dec?.write(chunk, onRecord);
      }
      dec?.end(onRecord);
    } catch (e) {
      if (!isCodecError(e)) throw e;
      summary.error = { message: e.message, offset: e.offset };
    }
    if (ch.role === 'main' && dec && dec.ramBlocks.length) ramBlocks = dec.ramBlocks;
  }
  const caps = c.caps;
  caps.multifd = evidence.multifdChannels.length;
  caps.preempt = evidence.preemptChannel !== undefined;
  caps.tls = evidence.tls;
  caps.postcopy = evidence.postcopyAdvise !== undefined;
  caps.dirtyBitmaps = evidence.dirtyBitmaps !== undefined;
  caps.returnPath = evidence.returnPathRecord !== undefined;
  caps.switchoverAck = evidence.switchoverAck !== undefined;
  const method = evidence.multifdCompression?.method ?? evidence.multifdCompressionUnshown;
  if (method !== undefined) caps.multifdCompression = method;
  return c;
}
