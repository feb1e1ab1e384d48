/**
 * The re-emitter: takes a recording's records in destination order and writes the same migration
 * over another channel layout. Device sections and commands pass through; RAM pages are routed
 * (PageRouter) to main PAGE/ZERO records or to multifd packets; the flush coordinator of
 * @migwire/sync batches multifd pages and places every SYNC and MULTIFD_FLUSH; recorded barriers
 * are dropped, since the new layout needs its own.
 */
import { advisesRamPostcopy, RamFlag, encodeMainRecordParts, type MainRecord, type MainRecordInput } from '@migwire/stream-codec';
import { MultifdFlushCoordinator, PageRouter, type FlushReport, type OrderedEvent, type OutgoingPagesPacket, type PageRouterOptions, type RecordedPage } from '@migwire/sync';
import type { PostcopyPage, TranscodeCounts, TranscodeHooks, TranscodePlan } from './types.js';
import { PageSlots } from './page-slots.js';
import { TranscodeError } from './errors.js';
import { MultifdPacketBuilder } from '@migwire/stream-codec';
import { beginsPostcopy, beginsSwitchover, PostcopyPhase } from './postcopy-phase.js';
import type { ByteSink } from './sinks.js';

export type { ChannelCounts, MainCounts, PostcopyPage, TranscodeCounts, TranscodeHooks, TranscodePlan } from './types.js';

interface OpenSection {
  id: number;
  idstr: string;
  type: 'start' | 'part' | 'end' | 'full';
}

type MainPageRecord =
  | { kind: 'ram-page'; block: string; pageOffset: number; data: Uint8Array }
  | { kind: 'ram-zero'; block: string; pageOffset: number; fill: number }
  | { kind: 'ram-xbzrle'; block: string; pageOffset: number; encoding: number; delta: Uint8Array }
  | { kind: 'ram-compressed'; block: string; pageOffset: number; data: Uint8Array };

export class Transcoder {
  readonly counts: TranscodeCounts;
  readonly #plan: TranscodePlan;
  readonly #main: ByteSink;
  readonly #multifd: readonly ByteSink[];
  readonly #builders: MultifdPacketBuilder[];
  readonly #coordinator: MultifdFlushCoordinator | undefined;
  readonly #router: PageRouter;
  /** Data of pages queued on multifd and not yet in a packet (undefined: a zero page). */
  readonly #pending = new Map<string, Map<number, Uint8Array | undefined>>();
  /** Where pending pages' bytes are kept: an event's bytes are not valid past it (the reader reuses them). */
  readonly #slots = new PageSlots();
  #section: OpenSection | undefined;
  #lastMainBlock: string | undefined;
  #ramSectionId: number | undefined;
  readonly #phase = new PostcopyPhase();
  readonly #preempt: ByteSink | undefined;
  readonly #hooks: TranscodeHooks;

  constructor(plan: TranscodePlan, main: ByteSink, multifd: readonly ByteSink[], preempt?: ByteSink, hooks: TranscodeHooks = {}) {
    if (multifd.length !== plan.channels) throw new TranscodeError('BAD_OPTION', `${plan.channels} multifd channels planned, ${multifd.length} sinks given`);
    if (plan.layout === '7.2' && plan.zeroPages === 'multifd' && plan.channels > 0) throw new TranscodeError('BAD_OPTION', 'QEMU 7.2 multifd packets carry no zero pages: use --zero-pages legacy');
    this.#plan = plan;
    this.#main = main;
    this.#multifd = multifd;
    this.#preempt = preempt;
    this.#hooks = hooks;
    this.#builders = multifd.map(() => new MultifdPacketBuilder({ layout: plan.layout, compression: plan.compression }));
    this.#router = this.createRouter({ channels: plan.channels, zeroPages: plan.zeroPages });
    this.counts = {
      main: { pages: 0, zeroPages: 0, otherPages: 0, flushes: 0, bytes: 0 },
      multifd: multifd.map((s) => ({ channel: s.name, normalPages: 0, zeroPages: 0, packets: 0, syncs: 0, bytes: 0 })),
      rounds: 0,
      barriers: { setup: 0, 'scan-wrap': 0, 'section-end': 0, 'new-round': 0, postcopy: 0 },
      finalBarriers: 0,
      sectionsSplit: 0,
      recordedFlushesDropped: 0,
      recordedPages: { main: 0, multifd: 0 },
      passedThrough: 0,
      usedReturnPath: false,
      postcopy: { pagesOnMain: 0, pagesOnPreempt: 0, preemptBytes: 0 },
    };
    if (plan.channels > 0) {
      this.#coordinator = new MultifdFlushCoordinator({
        mode: plan.flushMode,
        main: { writeMultifdFlush: () => this.writeFlush() },
        channels: multifd.map((_, i) => ({
          sendPages: (p) => this.#sendPages(i, p),
          sendSync: (p) => this.#sendSync(i, p.packetNum),
        })),
      });
    }
  }

  /** The page router (a seam for tests that build a wrong placement in a subclass). */
  protected createRouter(o: PageRouterOptions): PageRouter {
    return new PageRouter(o);
  }

  /** Write the multifd init messages; call once the channels are open, before any event. */
  start(): void {
    this.#multifd.forEach((sink, i) => sink.write(this.#builders[i]!.init(i, this.#plan.uuid)));
  }

  /** Feed every event, waiting for slow sinks between events. */
  /** The last main record passed on, and whether it reached QEMU_VM_EOF (a cut recording does not). */
  lastMain: MainRecord | undefined;
  mainEnded = false;

  async run(events: AsyncIterable<OrderedEvent>, tick?: () => void): Promise<void> {
    for await (const e of events) {
      if (e.kind === 'main') {
        const r = (this.lastMain = e.record);
        if (r.kind === 'eof' && r.depth === 0) this.mainEnded = true;
        if (!this.#phase.switchoverReached && beginsSwitchover(r)) {
          this.#phase.switchoverReached = true;
          await this.#hooks.beforeSwitchover?.();
        }
        if (this.#phase.resendPreemptBefore(r)) await this.#resendPreemptPages();
        this.#mainRecord(r);
      } else if (e.kind === 'multifd-pages') {
        this.counts.recordedPages.multifd += e.pages.length;
        for (const p of e.pages) this.#page(p);
      }
      await this.#ready();
      tick?.();
    }
    this.syncByteCounts();
  }

  /** Copies the sinks' byte counts into `counts`. */
  syncByteCounts(): void {
    this.counts.main.bytes = this.#main.bytes;
    if (this.#preempt) this.counts.postcopy.preemptBytes = this.#preempt.bytes;
    this.#multifd.forEach((s, i) => (this.counts.multifd[i]!.bytes = s.bytes));
  }

  async #ready(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const s of [this.#main, ...this.#multifd, ...(this.#preempt ? [this.#preempt] : [])]) {
      const w = s.ready();
      if (w) waits.push(w);
    }
    if (waits.length) await Promise.all(waits);
  }

  #mainRecord(r: MainRecord): void {
    this.#phase.see(r);
    // Records inside a PACKAGED command pass as they are: its length counts their bytes.
    if (r.depth > 0) return this.#pass(r);
    if (this.#coordinator && this.#phase.advised && !this.#phase.switched && beginsPostcopy(r)) this.#switchToPostcopy();
    switch (r.kind) {
      case 'section':
        if (r.idstr === 'ram') this.#ramSectionId = r.sectionId;
        this.#section = { id: r.sectionId, idstr: r.idstr, type: r.sectionType };
        this.#lastMainBlock = undefined;
        return this.#pass(r);
      case 'ram-page':
        this.counts.recordedPages.main++;
        return this.#page({ block: r.block, offset: r.pageOffset, data: r.data });
      case 'ram-zero':
        this.counts.recordedPages.main++;
        return this.#page({ block: r.block, offset: r.pageOffset, data: undefined }, r.fill);
      case 'ram-xbzrle':
      case 'ram-compressed':
        this.counts.recordedPages.main++;
        return this.#mainOnlyPage(r);
      case 'ram-multifd-flush':
        this.counts.recordedFlushesDropped++;
        return;
      case 'ram-eos':
        this.#beforeRamEos();
        return this.#pass(r);
      case 'ram-block':
        if (r.block.mappedRam) throw new TranscodeError('UNSUPPORTED_RECORD', 'mapped-ram streams cannot be transcoded', { channel: 'main', offset: r.offset });
        return this.#pass(r);
      case 'mapped-ram-data':
        throw new TranscodeError('UNSUPPORTED_RECORD', 'mapped-ram streams cannot be transcoded', { channel: 'main', offset: r.offset });
      case 'command':
        if (r.args.command === 'OPEN_RETURN_PATH') {
          this.counts.usedReturnPath = true;
          this.#hooks.returnPathOpened?.();
        }
        if (advisesRamPostcopy(r.args) && this.#coordinator && !this.#plan.multifdWithPostcopy) {
          throw new TranscodeError('UNSUPPORTED_RECORD', 'this destination cannot take multifd and postcopy together (QEMU 10.1+ can: --qemu 11.1); use --channels 0', { channel: 'main', offset: r.offset });
        }
        return this.#pass(r);
      default:
        return this.#pass(r);
    }
  }

  #pass(r: MainRecordInput): void {
    this.counts.passedThrough++;
    this.#main.write(encodeMainRecordParts(r));
  }

  /** The barrier QEMU puts before a RAM section's EOS, in the destination's flush mode. */
  #beforeRamEos(): void {
    const c = this.#coordinator;
    const s = this.#section;
    // After the switch to postcopy multifd is closed: its last barrier came before postcopy.
    if (!c || !s || this.#phase.switched) return;
    let report: FlushReport | undefined;
    if (s.type === 'start') report = c.setup();
    else if (c.mode === 'per-section') report = c.beforeSectionEnd();
    // Per-round: the last RAM section closes its round, so every multifd page lands before device state.
    else if (s.type === 'end') {
      this.counts.finalBarriers++;
      this.counts.rounds++;
      c.newRound();
      this.#router.barrierPassed();
      return;
    }
    if (report) this.#barrierDone(report);
  }

  #barrierDone(report: FlushReport): void {
    this.counts.barriers[report.reason]++;
    this.counts.rounds++;
    this.#router.barrierPassed();
  }

  /** A barrier for a page re-sent within the round; per-section mode ends the RAM section for it. */
  protected newRound(): void {
    const report = this.#coordinator!.newRound();
    this.#barrierDone(report);
    if (report.marker === 'eos') {
      const s = this.#ramSection();
      this.#main.write(encodeMainRecordParts({ kind: 'ram-eos', sectionId: s.id, flags: RamFlag.Eos }));
      this.#main.write(encodeMainRecordParts({ kind: 'footer', sectionId: s.id }));
      this.#main.write(encodeMainRecordParts({ kind: 'section', sectionType: 'part', sectionId: s.id, idstr: s.idstr }));
      this.#section = { ...s, type: 'part' };
      this.#lastMainBlock = undefined;
      this.counts.sectionsSplit++;
    }
  }

  #ramSection(): OpenSection {
    const s = this.#section;
    if (!s || s.idstr !== 'ram') throw new TranscodeError('UNSUPPORTED_RECORD', 'a RAM page outside a RAM section', { channel: 'main' });
    return s;
  }

  #page(p: RecordedPage, fill = 0): void {
    if (this.#phase.switched) return this.#postcopyPageOnMain({ ...p, fill });
    const zero = p.data === undefined;
    // A zero record with a non-zero fill byte is not a zero page for multifd.
    const routed = { block: p.block, offset: p.offset, zero, ...(zero && fill !== 0 ? { mainOnly: true } : {}) };
    const decision = this.#router.route(routed);
    if (decision.newRoundFirst) this.newRound();
    this.#router.sent(routed);
    if (decision.route === 'main') {
      if (p.data) this.#writeMainPage({ kind: 'ram-page', block: p.block, pageOffset: p.offset, data: p.data }, RamFlag.Page);
      else this.#writeMainPage({ kind: 'ram-zero', block: p.block, pageOffset: p.offset, fill }, RamFlag.Zero);
      return;
    }
    let pending = this.#pending.get(p.block);
    if (!pending) this.#pending.set(p.block, (pending = new Map()));
    const earlier = pending.get(p.offset);
    if (earlier) this.#slots.release(earlier);
    pending.set(p.offset, p.data && this.#slots.keep(p.data));
    const outcome = this.#coordinator!.queuePage({ block: p.block, offset: p.offset });
    if (outcome.status !== 'queued') throw new Error(`internal: page ${p.block}+0x${p.offset.toString(16)} refused in round ${outcome.round}`);
  }

  /**
   * Close multifd before postcopy opens: a RAM section part with the partial packets, one SYNC per
   * channel and MULTIFD_FLUSH (QEMU 10.1+ writes the same before SWITCHOVER_START).
   */
  #switchToPostcopy(): void {
    const id = this.#ramSectionId;
    if (id === undefined) throw new TranscodeError('UNSUPPORTED_RECORD', 'postcopy starts before any RAM section', { channel: 'main' });
    this.#main.write(encodeMainRecordParts({ kind: 'section', sectionType: 'part', sectionId: id, idstr: 'ram' }));
    this.#section = { id, idstr: 'ram', type: 'part' };
    this.#lastMainBlock = undefined;
    this.#barrierDone(this.#coordinator!.startPostcopy());
    this.#main.write(encodeMainRecordParts({ kind: 'ram-eos', sectionId: id, flags: RamFlag.Eos }));
    this.#main.write(encodeMainRecordParts({ kind: 'footer', sectionId: id }));
    this.#section = undefined;
    this.#phase.switched = true;
  }

  #postcopyPageOnMain(p: PostcopyPage): void {
    this.counts.postcopy.pagesOnMain++;
    if (p.data) this.#writeMainPage({ kind: 'ram-page', block: p.block, pageOffset: p.offset, data: p.data }, RamFlag.Page);
    else this.#writeMainPage({ kind: 'ram-zero', block: p.block, pageOffset: p.offset, fill: p.fill }, RamFlag.Zero);
  }

  /**
   * The pages the recording sent on its preempt channel (each sent once after the switch): on the
   * output's preempt channel as bare RAM records, or on main in a RAM section part of their own.
   */
  async #resendPreemptPages(): Promise<void> {
    this.#phase.preemptResent = true;
    const pages = this.#hooks.preemptPages?.();
    if (!pages) return;
    const out = this.#preempt;
    const id = this.#ramSectionId ?? 0;
    let opened = false;
    let lastBlock: string | undefined;
    for await (const p of pages) {
      this.counts.recordedPages.main++;
      if (out) {
        const flags = (p.data ? RamFlag.Page : RamFlag.Zero) | (lastBlock === p.block ? RamFlag.Continue : 0);
        lastBlock = p.block;
        out.write(encodeMainRecordParts(p.data ? { kind: 'ram-page', sectionId: id, flags, block: p.block, pageOffset: p.offset, data: p.data } : { kind: 'ram-zero', sectionId: id, flags, block: p.block, pageOffset: p.offset, fill: p.fill }));
        this.counts.postcopy.pagesOnPreempt++;
      } else {
        if (!opened) {
          this.#main.write(encodeMainRecordParts({ kind: 'section', sectionType: 'part', sectionId: id, idstr: 'ram' }));
          this.#section = { id, idstr: 'ram', type: 'part' };
          this.#lastMainBlock = undefined;
          opened = true;
        }
        this.#postcopyPageOnMain(p);
      }
      await this.#ready();
    }
    if (opened) {
      this.#main.write(encodeMainRecordParts({ kind: 'ram-eos', sectionId: id, flags: RamFlag.Eos }));
      this.#main.write(encodeMainRecordParts({ kind: 'footer', sectionId: id }));
      this.#section = undefined;
    }
  }

  #mainOnlyPage(r: MainRecord & { kind: 'ram-xbzrle' | 'ram-compressed' }): void {
    const routed = { block: r.block, offset: r.pageOffset, zero: false, mainOnly: true };
    const decision = this.#router.route(routed);
    if (decision.newRoundFirst) this.newRound();
    this.#router.sent(routed);
    if (r.kind === 'ram-xbzrle') this.#writeMainPage({ kind: 'ram-xbzrle', block: r.block, pageOffset: r.pageOffset, encoding: r.encoding, delta: r.delta }, RamFlag.Xbzrle);
    else this.#writeMainPage({ kind: 'ram-compressed', block: r.block, pageOffset: r.pageOffset, data: r.data }, RamFlag.CompressPage);
  }

  /** A page record on main, naming its block unless the previous page record in this section had the same one. */
  #writeMainPage(rec: MainPageRecord, flag: number): void {
    const sectionId = this.#ramSection().id;
    const flags = flag | (this.#lastMainBlock === rec.block ? RamFlag.Continue : 0);
    this.#lastMainBlock = rec.block;
    // One object shape per kind keeps this hot path monomorphic.
    let full: MainRecordInput;
    switch (rec.kind) {
      case 'ram-page':
        full = { kind: 'ram-page', sectionId, flags, block: rec.block, pageOffset: rec.pageOffset, data: rec.data };
        this.counts.main.pages++;
        break;
      case 'ram-zero':
        full = { kind: 'ram-zero', sectionId, flags, block: rec.block, pageOffset: rec.pageOffset, fill: rec.fill };
        this.counts.main.zeroPages++;
        break;
      case 'ram-xbzrle':
        full = { kind: 'ram-xbzrle', sectionId, flags, block: rec.block, pageOffset: rec.pageOffset, encoding: rec.encoding, delta: rec.delta };
        this.counts.main.otherPages++;
        break;
      case 'ram-compressed':
        full = { kind: 'ram-compressed', sectionId, flags, block: rec.block, pageOffset: rec.pageOffset, data: rec.data };
        this.counts.main.otherPages++;
        break;
    }
    this.#main.write(encodeMainRecordParts(full));
  }

  protected writeFlush(): void {
    const s = this.#ramSection();
    this.#main.write(encodeMainRecordParts({ kind: 'ram-multifd-flush', sectionId: s.id, flags: RamFlag.MultifdFlush }));
    this.counts.main.flushes++;
  }

  #sendPages(channel: number, p: OutgoingPagesPacket): void {
    const normal: Array<{ offset: number; data: Uint8Array }> = [];
    const zero: number[] = [];
    const pending = this.#pending.get(p.block);
    for (const o of p.offsets) {
      const data = pending?.get(o);
      pending?.delete(o);
      if (data) normal.push({ offset: o, data });
      else zero.push(o);
    }
    // Sinks copy what they keep: the slots are free once the packet is written.
    this.#multifd[channel]!.write(this.#builders[channel]!.pages({ packetNum: p.packetNum, block: p.block, normal, zero }));
    for (const n of normal) this.#slots.release(n.data);
    const c = this.counts.multifd[channel]!;
    c.packets++;
    c.normalPages += normal.length;
    c.zeroPages += zero.length;
  }

  #sendSync(channel: number, packetNum: number): void {
    this.#multifd[channel]!.write(this.#builders[channel]!.sync(packetNum));
    this.counts.multifd[channel]!.syncs++;
  }
}
