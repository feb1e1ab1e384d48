/**
 * no-multifd-after-postcopy: once postcopy listens, vCPUs may run on the destination's pages, so
 * no page may arrive on multifd (it could overwrite memory in use): placed by arrival time
 * (chunks.csv offline; as it happens live). SYNC packets carry no memory and are judged by count,
 * not time: QEMU 10.1+ ends multifd with a last flush before LISTEN, and the destination reads
 * every channel's SYNC for it before it goes on, but a recorder may see a SYNC's bytes after
 * LISTEN's (each connection is read as it comes). So a channel may hold one SYNC per
 * MULTIFD_FLUSH that main sent before LISTEN, and none more.
 */
import { Command, type CodecRecord, type MainRecord, type U64 } from '@migwire/stream-codec';
import { MultifdPostcopyAssertion } from '../destination/postcopy-assertion.js';
import { isSyncError } from '../errors.js';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

export class NoMultifdAfterPostcopyRule extends Rule {
  readonly id = 'no-multifd-after-postcopy';
  // Needs the stream start: SYNCs and MULTIFD_FLUSHes are counted from the start.
  override readonly needsStartOf = ['main', 'multifd'] as const;
  readonly #assertion = new MultifdPostcopyAssertion();
  /** MULTIFD_FLUSH records on main so far, and how many came before LISTEN (once it came). */
  #flushes = 0;
  #flushesBeforeListen: number | undefined;
  /** Per multifd channel, where its SYNCs are (one per round: a short list). */
  readonly #syncs = new Map<string, Array<{ offset: number; packetNum: U64; at: number | undefined }>>();
  #excessReported = false;

  override observe(ch: RuleChannel, r: CodecRecord, at: number | undefined): void {
    if (ch.role === 'main') this.#observeMain(r as MainRecord, at);
    else if (ch.role === 'multifd' && r.kind === 'multifd-packet') {
      if (r.sync) {
        const list = this.#syncs.get(ch.name) ?? [];
        this.#syncs.set(ch.name, list);
        list.push({ offset: r.offset, packetNum: r.packetNum, at });
        this.#checkSyncs(ch.name);
      }
      if (r.normalPages + r.zeroPages > 0 && this.facts.timed) this.#checkPages(ch, r, at);
    }
  }

  #observeMain(r: MainRecord, at: number | undefined): void {
    this.#assertion.observeMain(r, at);
    if (this.#flushesBeforeListen !== undefined) return;
    if (r.kind === 'ram-multifd-flush') this.#flushes++;
    if (r.kind === 'command' && r.command === Command.PostcopyListen) {
      this.#flushesBeforeListen = this.#flushes;
      for (const name of this.#syncs.keys()) this.#checkSyncs(name);
    }
  }

  /** Each SYNC answers one MULTIFD_FLUSH on main (the setup flush included): one more is a flush after LISTEN. */
  #checkSyncs(channel: string): void {
    const limit = this.#flushesBeforeListen;
    // No MULTIFD_FLUSH at all (per-section mode, or a broken stream): sync-per-flush judges the count.
    const x = !limit ? undefined : this.#syncs.get(channel)?.[limit];
    if (!x || this.#excessReported) return;
    this.#excessReported = true;
    this.fail(`multifd SYNC packet beyond the ${limit} MULTIFD_FLUSH before POSTCOPY_LISTEN (MULTIFD_AFTER_POSTCOPY): a flush after postcopy began (packet #${x.packetNum})`, channel, x.offset, x.at);
  }

  #checkPages(ch: RuleChannel, r: CodecRecord & { kind: 'multifd-packet' }, at: number | undefined): void {
    try {
      this.#assertion.checkPacket(ch.multifdId ?? 0, r, at);
    } catch (e) {
      if (!isSyncError(e)) throw e;
      this.fail(`${e.message} (packet #${r.packetNum})`, ch.name, r.offset, at);
    }
  }

  protected verdict(): RuleResult {
    const postcopy = this.facts.listen !== undefined;
    if (!postcopy || this.facts.multifdChannels.length === 0) return this.notApplicable(postcopy ? 'no multifd channels' : 'no postcopy');
    if (!this.facts.timed) return { id: this.id, status: 'fail', detail: 'postcopy and multifd together, but no chunks.csv to order them' };
    return this.pass(`no multifd page arrived after POSTCOPY_LISTEN, and no SYNC beyond the ${this.#flushesBeforeListen ?? 0} MULTIFD_FLUSH before it`);
  }
}
