/**
 * Reassembly of one TCP direction into stream order: sequence wrap-around, retransmission and
 * overlap (first copy wins, differences reported), reordering within a buffer limit, holes.
 */
import { type TcpSegment, TcpFlag } from '../net/tcp.js';
import { type DirectionStats, emptyStats, type StreamEvent } from './events.js';
import { type Mismatch, RecentBytes, SegmentStore, type StoredSegment } from './segment-store.js';

export interface ReassemblyOptions {
  /** Out-of-order bytes held per direction while waiting for a gap; past it the gap is a hole
   * (default 32 MiB). */
  maxBufferedBytes?: number;
  /** Out-of-order segments held per direction (default 16384): tiny segments cost far more to
   * hold and sort than their bytes, so they have a count limit too. */
  maxBufferedSegments?: number;
  /** Delivered bytes kept per direction to check retransmissions against (default 1 MiB). */
  retransmitCheckBytes?: number;
  /** Reads bytes back by file position (a seekable file): lets pass 1 leave in-order payloads unread. */
  reread?: (filePos: number, length: number) => Uint8Array;
}

const TWO_32 = 2 ** 32;

export class DirectionReassembler {
  readonly stats: DirectionStats = emptyStats();
  /** The stream's first byte was not preceded by a captured SYN. */
  midStream = false;
  private started = false;
  private baseSeq = 0;
  /** Stream offset of the next in-order byte. */
  private next = 0;
  private finOffset: number | undefined;
  /** Highest stream offset the peer acknowledged: bytes below it were sent even if not captured. */
  private ackedTo = 0;
  private readonly pending = new SegmentStore();
  private readonly recent: RecentBytes;
  /** Ranges known to be cut by snaplen, still ahead of `next`. */
  private cuts: { from: number; to: number }[] = [];
  private readonly maxBuffered: number;
  private readonly maxSegments: number;
  private released = false;

  constructor(options: ReassemblyOptions = {}) {
    this.maxBuffered = options.maxBufferedBytes ?? 32 << 20;
    this.maxSegments = options.maxBufferedSegments ?? 16384;
    this.recent = new RecentBytes(options.retransmitCheckBytes ?? 1 << 20, options.reread);
  }

  /** Feeds one segment; stream events are appended to `out`. */
  push(seg: TcpSegment, time: number, out: StreamEvent[], filePos = NaN): void {
    const s = this.stats;
    s.packets++;
    if (Number.isNaN(s.firstTime)) s.firstTime = time;
    s.lastTime = time;
    if (seg.flags & TcpFlag.Syn) {
      s.synSeen = true;
      if (!this.started) {
        this.started = true;
        this.baseSeq = (seg.seq + 1) >>> 0;
        out.push({ kind: 'syn', offset: 0, time });
      }
    }
    if (!this.started) {
      if (seg.payloadLength === 0 && !(seg.flags & (TcpFlag.Fin | TcpFlag.Rst))) return;
      this.started = true;
      this.midStream = true;
      this.baseSeq = seg.seq;
    }
    const dataSeq = seg.flags & TcpFlag.Syn ? (seg.seq + 1) >>> 0 : seg.seq;
    const offset = this.offsetOf(dataSeq);
    // Bytes past an earlier FIN are no part of the stream (a receiver drops them): counted, not delivered.
    if (this.finOffset !== undefined && seg.payloadLength > 0 && offset + seg.payloadLength > this.finOffset) {
      const keep = Math.max(0, this.finOffset - offset);
      s.bytesAfterClose += seg.payloadLength - keep;
      seg = { ...seg, payload: seg.payload.subarray(0, Math.min(keep, seg.payload.length)), payloadLength: keep };
    }
    if (seg.payloadLength > 0) {
      if (seg.payload.length < seg.payloadLength) {
        this.cuts.push({ from: offset + seg.payload.length, to: offset + seg.payloadLength });
      }
      if (seg.payload.length > 0) this.insert(offset, seg.payload, time, out, filePos);
    }
    if (seg.flags & TcpFlag.Fin) {
      s.finSeen = true;
      const fin = offset + seg.payloadLength;
      if (this.finOffset === undefined) {
        this.finOffset = fin;
        out.push({ kind: 'fin', offset: fin, time });
      }
    }
    if (seg.flags & TcpFlag.Rst) {
      s.rstSeen = true;
      out.push({ kind: 'rst', offset, time });
    }
    this.drain(time, out);
  }

  /**
   * The peer acknowledged up to `ack` (a sequence number of this direction): acknowledged bytes
   * were sent, so any of them still missing here were not captured and are a hole now.
   */
  acknowledged(ack: number, time: number, out: StreamEvent[]): void {
    if (!this.started || this.released) return;
    let to = this.offsetOf(ack);
    if (this.finOffset !== undefined) to = Math.min(to, this.finOffset); // the FIN takes one number
    if (to <= this.ackedTo) return;
    this.ackedTo = to;
    while (this.ackedTo > this.next) {
      const first = this.pending.first;
      this.hole(Math.min(this.ackedTo, first?.offset ?? Infinity) - this.next, time, out);
      this.drain(time, out);
    }
  }

  /**
   * Would `seg`'s payload go straight out in order (nothing held, nothing cut, no SYN)? Then its
   * bytes need not be read for reassembly's sake.
   */
  inOrder(seg: TcpSegment): boolean {
    return this.started && !this.released && !(seg.flags & TcpFlag.Syn) && !this.pending.first && this.cuts.length === 0 && this.offsetOf(seg.seq) === this.next;
  }

  /**
   * Could a RST from this direction's sender end the connection? Only one whose sequence number
   * lies near the stream's position (a real stack ignores one outside its window, RFC 5961); a
   * forged or stray one with any other number is counted and passed over.
   */
  plausibleReset(seg: TcpSegment): boolean {
    if (!this.started) return true;
    const at = this.offsetOf(seg.seq);
    if (at >= this.next - this.maxBuffered && at <= Math.max(this.next, this.ackedTo) + this.maxBuffered) return true;
    this.stats.ignoredResets++;
    return false;
  }

  /** Every byte up to the FIN is delivered (or declared missing). */
  get complete(): boolean {
    return this.finOffset !== undefined && this.next >= this.finOffset && !this.pending.first;
  }

  /** The connection is over: drop held bytes; later packets only count. */
  release(): void {
    this.released = true;
    this.pending.clear();
    this.recent.clear();
    this.cuts = [];
  }

  /** A packet after release (a retransmitted FIN, the last ACK): counted, not reassembled. */
  late(seg: TcpSegment, time: number): void {
    const s = this.stats;
    s.packets++;
    s.lastTime = time;
    // Bytes past what the stream delivered came after its end: counted apart, so a reader can say so.
    const end = this.started ? this.offsetOf(seg.seq) + seg.payloadLength : 0;
    const beyond = Math.min(seg.payloadLength, Math.max(0, end - this.next));
    s.bytesAfterClose += beyond;
    s.retransmittedBytes += seg.payloadLength - beyond;
    if (seg.flags & TcpFlag.Fin) s.finSeen = true;
    if (seg.flags & TcpFlag.Rst) s.rstSeen = true;
  }

  /** End of capture: whatever is still missing becomes holes and held data is delivered. */
  finish(time: number, out: StreamEvent[]): void {
    while (this.pending.first) {
      const first = this.pending.first;
      if (first.offset > this.next) this.hole(first.offset - this.next, time, out);
      this.drain(time, out);
    }
    let end = Math.max(this.finOffset ?? this.next, this.ackedTo);
    for (const c of this.cuts) end = Math.max(end, c.to);
    if (end > this.next) this.hole(end - this.next, time, out);
  }

  /** Bytes delivered so far (stream offset of the next in-order byte). */
  get offset(): number {
    return this.next;
  }

  private offsetOf(seq: number): number {
    const expected = (this.baseSeq + (this.next % TWO_32)) >>> 0;
    return this.next + ((seq - expected) | 0);
  }

  private insert(offset: number, bytes: Uint8Array, time: number, out: StreamEvent[], filePos: number): void {
    let seg: StoredSegment = { offset, bytes, time, filePos };
    if (offset < 0) {
      const before = Math.min(-offset, bytes.length);
      out.push({ kind: 'before-start', offset, length: before, time });
      if (before === bytes.length) return;
      seg = { offset: 0, bytes: bytes.subarray(before), time, filePos: filePos + before };
    }
    const mismatches: Mismatch[] = [];
    const end = seg.offset + seg.bytes.length;
    if (seg.offset < this.next) {
      const seenTo = Math.min(end, this.next);
      this.stats.retransmittedBytes += seenTo - seg.offset;
      this.recent.check(seg, seg.offset, seenTo, mismatches);
      if (end <= this.next) return this.conflicts(mismatches, time, out);
      seg = { offset: this.next, bytes: seg.bytes.subarray(this.next - seg.offset), time, filePos: seg.filePos + (this.next - seg.offset) };
    }
    const first = this.pending.first;
    if (seg.offset === this.next && (!first || first.offset >= end)) {
      // In order and nothing held overlaps it: deliver the view, no copy.
      this.conflicts(mismatches, time, out);
      return this.deliver(seg, out);
    }
    if (seg.offset > this.next) this.stats.outOfOrderSegments++;
    this.stats.retransmittedBytes += this.pending.insert(seg, mismatches);
    this.conflicts(mismatches, time, out);
    while ((this.pending.bytes > this.maxBuffered || this.pending.segments.length > this.maxSegments) && this.pending.first) {
      this.hole(this.pending.first.offset - this.next, time, out);
      this.drain(time, out);
    }
  }

  private conflicts(mismatches: Mismatch[], time: number, out: StreamEvent[]): void {
    for (const m of mismatches) {
      this.stats.conflicts++;
      out.push({ kind: 'conflict', offset: m.offset, length: m.length, time });
    }
  }

  /** Delivers contiguous held segments; a range cut by snaplen at `next` is a hole at once. */
  private drain(time: number, out: StreamEvent[]): void {
    for (;;) {
      const first = this.pending.first;
      if (first && first.offset <= this.next) {
        this.pending.shift();
        const skip = this.next - first.offset;
        if (skip >= first.bytes.length) continue;
        const bytes = skip > 0 ? first.bytes.subarray(skip) : first.bytes;
        this.deliver({ offset: this.next, bytes, time: first.time, filePos: first.filePos + skip }, out);
        continue;
      }
      this.cuts = this.cuts.filter((c) => c.to > this.next);
      const cut = this.cuts.find((c) => c.from <= this.next);
      if (!cut) return;
      const to = first ? Math.min(cut.to, first.offset) : cut.to;
      this.hole(to - this.next, time, out, 'snaplen');
    }
  }

  private deliver(seg: StoredSegment, out: StreamEvent[]): void {
    out.push({ kind: 'data', offset: seg.offset, bytes: seg.bytes, time: seg.time, filePos: seg.filePos });
    this.recent.add(seg);
    this.next += seg.bytes.length;
    this.stats.bytes += seg.bytes.length;
  }

  private hole(length: number, time: number, out: StreamEvent[], reason?: 'snaplen'): void {
    if (length <= 0) return;
    const from = this.next;
    const to = from + length;
    const why = reason ?? (this.cuts.some((c) => c.from < to && c.to > from) ? 'snaplen' : 'lost');
    out.push({ kind: 'hole', offset: from, length, reason: why, time });
    this.stats.holes++;
    this.stats.missingBytes += length;
    this.next = to;
  }
}
