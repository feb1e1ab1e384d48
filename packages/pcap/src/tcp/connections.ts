/**
 * From packets to per-direction TCP stream events: demultiplexes connections (a new SYN on a
 * closed 4-tuple is a new connection) and reassembles each direction.
 */
import type { CapturedPacket, FormatNotice } from '../formats/packet.js';
import { readPackets } from '../formats/read-packets.js';
import { ipFromFrame } from '../link/link-layer.js';
import { IP_PROTO_TCP, parseIp } from '../net/ip.js';
import { type TcpSegment, TcpFlag, parseTcp } from '../net/tcp.js';
import type { ByteSource } from '../source.js';
import { DirectionReassembler, type ReassemblyOptions } from './direction.js';
import { phantom } from './phantom.js';
import type { DirectionStats, StreamEvent } from './events.js';

export interface Endpoint {
  address: string;
  port: number;
}

/** Which way bytes flow: from the connection's `a` side or from its `b` side. */
export type Side = 'a' | 'b';

export interface TcpConnection {
  /** Order of first appearance in the file, from 0; stable between reads of the same file. */
  index: number;
  /** The side that sent the SYN, or when none was captured the sender of the first packet. */
  a: Endpoint;
  b: Endpoint;
  /** A's SYN (without ACK) was captured, so `a` is known to be the client. */
  synSeen: boolean;
  firstTime: number;
  firstPacket: number;
}

/** Packets that carried no TCP stream bytes, by reason, with the first packet number of each. */
export type SkipReason =
  | 'unsupported-link-type'
  | 'not-ip'
  | 'short-frame'
  | 'short-ip'
  | 'bad-ip'
  | 'ip-fragment'
  | 'not-tcp'
  | 'short-tcp';

export interface SkipCount {
  packets: number;
  firstPacket: number;
}

export type CaptureEvent =
  | { kind: 'connection'; connection: TcpConnection }
  | { kind: 'stream'; connection: number; from: Side; event: StreamEvent }
  /** A connection is complete (closed, or the capture ended): final per-side statistics. */
  | { kind: 'end'; connection: number; a: DirectionStats; b: DirectionStats; midStream: { a: boolean; b: boolean } }
  | { kind: 'notice'; notice: FormatNotice }
  | { kind: 'summary'; skipped: Partial<Record<SkipReason, SkipCount>>; packets: number; lastTime: number };

export interface TcpEventOptions extends ReassemblyOptions {
  /** Reassemble only these connections (by index); others are only tracked. */
  select?: (index: number) => boolean;
  /**
   * Leave payloads unread where reassembly does not need them (in order, nothing to compare) and
   * `wantBytes` says no: their data events carry stand-in bytes of the right length and their
   * file position. Needs a SeekableFile source and `reread` (to compare a later retransmission).
   */
  lazy?: { wantBytes: (connection: number, side: Side, offset: number) => boolean };
}

/** Bytes of each frame read before deciding whether to read the rest (link, IP and TCP headers). */
const PEEK_BYTES = 256;

/** The TCP segment in a frame, or why there is none. */
function segmentOf(p: CapturedPacket): TcpSegment | SkipReason {
  const link = ipFromFrame(p.linkType, p.data);
  if ('skip' in link) return link.skip;
  const ip = parseIp(link.ip);
  if ('skip' in ip) return ip.skip;
  if (ip.packet.protocol !== IP_PROTO_TCP) return 'not-tcp';
  return parseTcp(ip.packet) ?? 'short-tcp';
}

interface Tracked {
  info: TcpConnection;
  aKey: string;
  a?: DirectionReassembler;
  b?: DirectionReassembler;
  aFin: boolean;
  bFin: boolean;
  rst: boolean;
  /** Finished (both FINs delivered, or a RST): its memory is released, its end reported. */
  ended: boolean;
}

/** All TCP stream events of a capture, in packet order. */
export async function* tcpEvents(source: ByteSource, options: TcpEventOptions = {}): AsyncGenerator<CaptureEvent> {
  const table = new Map<string, Tracked>();
  const skipped: Partial<Record<SkipReason, SkipCount>> = {};
  let count = 0;
  let packets = 0;
  let lastTime = NaN;
  const skip = (reason: SkipReason, number: number): void => {
    const s = (skipped[reason] ??= { packets: 0, firstPacket: number });
    s.packets++;
  };
  const out: StreamEvent[] = [];
  const lazy = options.lazy && options.reread ? options.lazy : undefined;
  for await (const item of readPackets(source, lazy ? { peek: PEEK_BYTES } : {})) {
    if ('notice' in item) {
      yield { kind: 'notice', notice: item.notice };
      continue;
    }
    const p = item.packet;
    packets++;
    if (!Number.isNaN(p.time)) lastTime = p.time;
    const time = Number.isNaN(p.time) ? lastTime : p.time;
    let seg = segmentOf(p);
    if (typeof seg === 'string' && p.more) {
      p.data = await p.more(); // the peek held too little of the headers
      p.more = undefined;
      seg = segmentOf(p);
    }
    if (typeof seg === 'string') {
      skip(seg, p.number);
      continue;
    }
    const srcKey = `${seg.src}|${seg.srcPort}`;
    const dstKey = `${seg.dst}|${seg.dstPort}`;
    const key = srcKey < dstKey ? `${srcKey}/${dstKey}` : `${dstKey}/${srcKey}`;
    let conn = table.get(key);
    if (conn && isNewSyn(seg) && (conn.rst || (conn.aFin && conn.bFin))) {
      if (!conn.ended) yield* finish(conn, time, out);
      table.delete(key);
      conn = undefined;
    }
    if (!conn) {
      const synAck = (seg.flags & (TcpFlag.Syn | TcpFlag.Ack)) === (TcpFlag.Syn | TcpFlag.Ack);
      const src = { address: seg.src, port: seg.srcPort };
      const dst = { address: seg.dst, port: seg.dstPort };
      const info: TcpConnection = {
        index: count++,
        a: synAck ? dst : src,
        b: synAck ? src : dst,
        synSeen: isNewSyn(seg),
        firstTime: time,
        firstPacket: p.number,
      };
      const selected = options.select?.(info.index) ?? true;
      conn = {
        info,
        aKey: synAck ? dstKey : srcKey,
        a: selected ? new DirectionReassembler(options) : undefined,
        b: selected ? new DirectionReassembler(options) : undefined,
        aFin: false,
        bFin: false,
        rst: false,
        ended: false,
      };
      table.set(key, conn);
      yield { kind: 'connection', connection: info };
    }
    const from: Side = srcKey === conn.aKey ? 'a' : 'b';
    const direction = from === 'a' ? conn.a : conn.b;
    const peer = from === 'a' ? conn.b : conn.a;
    if (seg.flags & TcpFlag.Fin) conn[from === 'a' ? 'aFin' : 'bFin'] = true;
    if (!direction || !peer) {
      if (seg.flags & TcpFlag.Rst) conn.rst = true;
      continue;
    }
    if (conn.ended) {
      direction.late(seg, time);
      continue;
    }
    // Where the payload lies in the file: the frame, IP and TCP views all share the packet's buffer.
    const filePos = seg.payload.buffer === p.data.buffer ? p.fileOffset + seg.payload.byteOffset - p.data.byteOffset : NaN;
    if (p.more) {
      if (lazy && direction.inOrder(seg) && !lazy.wantBytes(conn.info.index, from, direction.offset)) {
        // In order and of no interest: its length is all reassembly needs; the bytes stay unread.
        const captured = Math.min(seg.payloadLength, (p.capturedLength ?? p.data.length) - (seg.payload.byteOffset - p.data.byteOffset));
        seg = { ...seg, payload: phantom(Math.max(0, captured)) };
      } else {
        p.data = await p.more();
        p.more = undefined;
        seg = segmentOf(p) as TcpSegment;
      }
    }
    // A RST far from the stream's position ends nothing (a real stack ignores it): its flag is dropped.
    if (seg.flags & TcpFlag.Rst && !direction.plausibleReset(seg)) seg = { ...seg, flags: seg.flags & ~TcpFlag.Rst };
    if (seg.flags & TcpFlag.Rst) conn.rst = true;
    direction.push(seg, time, out, filePos);
    for (const event of out) yield { kind: 'stream', connection: conn.info.index, from, event };
    out.length = 0;
    if (seg.flags & TcpFlag.Ack) {
      peer.acknowledged(seg.ack, time, out);
      for (const event of out) yield { kind: 'stream', connection: conn.info.index, from: from === 'a' ? 'b' : 'a', event };
      out.length = 0;
    }
    if (conn.rst || (conn.a!.complete && conn.b!.complete)) {
      // Closed: report its end now and free what it holds, not at the end of the file.
      yield* finish(conn, time, out);
      conn.ended = true;
      conn.a!.release();
      conn.b!.release();
    }
  }
  for (const conn of table.values()) if (!conn.ended) yield* finish(conn, lastTime, out);
  yield { kind: 'summary', skipped, packets, lastTime };
}

function isNewSyn(seg: TcpSegment): boolean {
  return (seg.flags & (TcpFlag.Syn | TcpFlag.Ack)) === TcpFlag.Syn;
}

function* finish(conn: Tracked, time: number, out: StreamEvent[]): Generator<CaptureEvent> {
  const index = conn.info.index;
  if (!conn.a || !conn.b) return;
  for (const from of ['a', 'b'] as const) {
    conn[from]!.finish(time, out);
    for (const event of out) yield { kind: 'stream', connection: index, from, event };
    out.length = 0;
  }
  yield {
    kind: 'end',
    connection: index,
    a: conn.a.stats,
    b: conn.b.stats,
    midStream: { a: conn.a.midStream, b: conn.b.midStream },
  };
}
