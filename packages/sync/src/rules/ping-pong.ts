/**
 * ping-pong: every PING on main is answered by a PONG with its value on the return path. Kept as
 * counts per value (the first few offsets of each), not one entry per PING.
 */
import type { CodecRecord, MainRecord, ReturnPathRecord } from '@migwire/stream-codec';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

const OFFSETS_KEPT = 16;

export class PingPongRule extends Rule {
  override readonly live = false;
  readonly id = 'ping-pong';
  override readonly seesPages = false;
  readonly #pings = new Map<number, { count: number; offsets: number[] }>();
  readonly #pongs = new Map<number, number>();
  #total = 0;

  override observe(ch: RuleChannel, r: CodecRecord): void {
    if (ch.role === 'main') {
      const m = r as MainRecord;
      if (m.kind !== 'command' || m.args.command !== 'PING') return;
      this.#total++;
      let p = this.#pings.get(m.args.value);
      if (!p) this.#pings.set(m.args.value, (p = { count: 0, offsets: [] }));
      p.count++;
      if (p.offsets.length < OFFSETS_KEPT) p.offsets.push(m.offset);
    } else if (ch.role === 'return-path') {
      const m = r as ReturnPathRecord;
      if (m.kind === 'rp-message' && m.args.message === 'PONG') this.#pongs.set(m.args.value, (this.#pongs.get(m.args.value) ?? 0) + 1);
    }
  }

  /** Whether PING `value` was sent and answered as often as it was sent. */
  answered(value: number): boolean {
    const p = this.#pings.get(value);
    return p !== undefined && (this.#pongs.get(value) ?? 0) >= p.count;
  }

  protected verdict(): RuleResult {
    if (this.#total === 0) return this.notApplicable('no PING on main');
    let first: { value: number; offset: number | undefined } | undefined;
    for (const [value, p] of this.#pings) {
      const answered = this.#pongs.get(value) ?? 0;
      if (answered >= p.count) continue;
      // PINGs are answered in order: the first unanswered one is the (answered + 1)-th.
      const offset = p.offsets[answered];
      if (!first || (offset !== undefined && (first.offset === undefined || offset < first.offset))) first = { value, offset };
    }
    if (!first) return this.pass(`${this.#total} PINGs, each answered by its PONG`);
    const rp = this.facts.channels.some((c) => c.role === 'return-path');
    return { id: this.id, status: 'fail', detail: `PING ${first.value} has no PONG${rp ? '' : ' (no return path recorded)'}`, channel: 'main', ...(first.offset !== undefined ? { offset: first.offset } : {}) };
  }
}
