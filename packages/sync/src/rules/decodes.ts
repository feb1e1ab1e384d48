/**
 * decodes: every channel that carries a migration decodes to its end, and the main stream ends
 * with QEMU_VM_EOF. A capture with nothing decodable, or a channel that is not a migration stream,
 * fails: a check that could examine nothing must not say every rule holds.
 */
import type { CodecRecord, MainRecord } from '@migwire/stream-codec';
import { Rule, type ChannelEnd, type RuleChannel, type RuleResult } from './rule.js';

export class DecodesRule extends Rule {
  readonly id = 'decodes';
  readonly #decoded: string[] = [];
  readonly #problems: string[] = [];
  #mainSeen = false;
  #last: { kind: string; offset: number } | undefined;

  override observe(ch: RuleChannel, r: CodecRecord): void {
    if (ch.role === 'main' && (r as MainRecord).depth === 0) this.#last = { kind: r.kind, offset: r.offset };
  }

  override channelEnded(ch: RuleChannel, end: ChannelEnd): void {
    if (end.error) {
      this.#problems.push(end.error.message);
      this.fail(end.error.message, ch.name, end.error.offset);
      return;
    }
    if (end.skipped) {
      // An empty connection or an unused reverse direction carries nothing to check.
      if (ch.role === 'empty' || (ch.role === 'other' && ch.name.endsWith('dst2src'))) return;
      this.#problems.push(`${ch.name}: not decoded (${end.skipped})`);
      return;
    }
    // A channel captured from mid-way decoded from its first boundary on, not from its start.
    this.#decoded.push(ch.midStream ? `${ch.name} from ${ch.midStream.skipped} bytes into its capture` : ch.name);
    if (ch.role === 'main') {
      this.#mainSeen = true;
      if (this.facts.mainEnd === undefined) {
        const last = this.#last ? `; the last complete record is ${this.#last.kind} at byte ${this.#last.offset}` : '';
        this.fail(`the main stream ends without QEMU_VM_EOF (incomplete migration)${last}`, ch.name, end.bytes);
      }
    }
  }

  protected verdict(): RuleResult {
    const extra = this.facts.problems.map((p) => p.message);
    if (extra.length) return { id: this.id, status: 'fail', detail: [...this.#problems, ...extra].join('; '), channel: this.facts.problems[0]!.channel };
    if (this.#problems.length) return { id: this.id, status: 'fail', detail: this.#problems.join('; ') };
    if (!this.#mainSeen) return { id: this.id, status: 'fail', detail: this.#decoded.length ? `no main channel among ${this.#decoded.join(', ')}: nothing to check the others against` : 'no channel could be decoded: nothing was checked' };
    return this.pass(`${this.#decoded.length} channel${this.#decoded.length === 1 ? '' : 's'} decoded to the end (${this.#decoded.join(', ')})`);
  }
}
