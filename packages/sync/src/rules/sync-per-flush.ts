/** sync-per-flush: one SYNC per multifd channel for every main barrier (MULTIFD_FLUSH since 8.0, else each RAM EOS). */
import type { CodecRecord } from '@migwire/stream-codec';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

export class SyncPerFlushRule extends Rule {
  readonly id = 'sync-per-flush';
  override readonly seesPages = false;
  // Needs the stream start: SYNCs and barriers are counted from the start.
  override readonly needsStartOf = ['main', 'multifd'] as const;
  readonly #syncs = new Map<string, number>();
  readonly #lastPacket = new Map<string, number>();

  override observe(ch: RuleChannel, r: CodecRecord): void {
    if (r.kind !== 'multifd-packet') return;
    this.#lastPacket.set(ch.name, r.offset);
    if (r.sync) this.#syncs.set(ch.name, (this.#syncs.get(ch.name) ?? 0) + 1);
  }

  protected verdict(): RuleResult {
    const names = this.facts.multifdChannels.map((c) => c.name);
    if (names.length === 0) return this.notApplicable('no multifd channels');
    const barriers = this.facts.barriers.count;
    const what = this.facts.barriers.mode === 'per-round' ? 'MULTIFD_FLUSH' : 'RAM EOS';
    const off = names.find((n) => (this.#syncs.get(n) ?? 0) !== barriers);
    if (off === undefined) return this.pass(`${barriers} ${what} on main, ${barriers} SYNC on each of ${names.length} channels`);
    const offset = this.#lastPacket.get(off);
    return { id: this.id, status: 'fail', detail: `main has ${barriers} ${what}, ${off} has ${this.#syncs.get(off) ?? 0} SYNC packets`, channel: off, ...(offset !== undefined ? { offset } : {}) };
  }
}
