/**
 * postcopy-final-flush: with multifd and postcopy together (QEMU 10.1+), the source ends multifd
 * before postcopy starts: a last flush (the pages gathered, one SYNC per channel, MULTIFD_FLUSH
 * on main) inside the RAM section that precedes SWITCHOVER_START (or POSTCOPY_LISTEN when there
 * is none). Checked here: that RAM section holds a MULTIFD_FLUSH, and no channel has pages after
 * its last SYNC (they would fall outside every barrier). One SYNC per channel per FLUSH is
 * sync-per-flush's; nothing after LISTEN is no-multifd-after-postcopy's.
 */
import type { CodecRecord, MainRecord } from '@migwire/stream-codec';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

export class PostcopyFinalFlushRule extends Rule {
  readonly id = 'postcopy-final-flush';
  override readonly seesPages = false;
  // Needs the stream start: the flush and POSTCOPY_LISTEN may precede the resume point.
  override readonly needsStartOf = ['main', 'multifd'] as const;
  #ramSection: number | undefined;
  #flush: number | undefined;
  #boundary: { name: string; offset: number; ramSection: number | undefined; flush: number | undefined } | undefined;
  /** Per channel: the first packet with pages since its last SYNC. */
  readonly #unsynced = new Map<string, number | undefined>();

  override observe(ch: RuleChannel, r: CodecRecord): void {
    if (ch.role === 'main') {
      const m = r as MainRecord;
      if (this.#boundary) return;
      if (m.kind === 'section' && m.idstr === 'ram') this.#ramSection = m.offset;
      else if (m.kind === 'ram-multifd-flush') this.#flush = m.offset;
      else if (m.kind === 'command' && (m.args.command === 'SWITCHOVER_START' || m.args.command === 'POSTCOPY_LISTEN')) {
        this.#boundary = { name: m.args.command, offset: m.offset, ramSection: this.#ramSection, flush: this.#flush };
      }
    } else if (ch.role === 'multifd' && r.kind === 'multifd-packet') {
      if (r.sync) this.#unsynced.set(ch.name, undefined);
      else if (r.normalPages + r.zeroPages > 0 && this.#unsynced.get(ch.name) === undefined) this.#unsynced.set(ch.name, r.offset);
    }
  }

  protected verdict(): RuleResult {
    if (this.facts.listen === undefined || this.facts.multifdChannels.length === 0) return this.notApplicable(this.facts.listen === undefined ? 'no postcopy' : 'no multifd channels');
    const b = this.#boundary!;
    if (b.flush === undefined) return { id: this.id, status: 'fail', detail: `no MULTIFD_FLUSH before ${b.name}: multifd was never flushed before postcopy`, channel: 'main', offset: b.offset };
    if (b.ramSection !== undefined && b.flush < b.ramSection) {
      return { id: this.id, status: 'fail', detail: `the RAM section before ${b.name} (at byte ${b.ramSection}) has no MULTIFD_FLUSH; the last one is at byte ${b.flush}`, channel: 'main', offset: b.ramSection };
    }
    for (const [name, offset] of this.#unsynced) {
      if (offset !== undefined) return { id: this.id, status: 'fail', detail: `pages on ${name} after its last SYNC: the final flush before ${b.name} does not cover them`, channel: name, offset };
    }
    return this.pass(`MULTIFD_FLUSH at byte ${b.flush} in the RAM section before ${b.name}; every channel's pages precede its last SYNC`);
  }
}
