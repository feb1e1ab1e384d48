/** preempt-pages-only: the postcopy-preempt channel carries page records only. */
import type { CodecRecord } from '@migwire/stream-codec';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

export class PreemptPagesOnlyRule extends Rule {
  readonly id = 'preempt-pages-only';
  #seen = false;

  override observe(ch: RuleChannel, r: CodecRecord, at: number | undefined): void {
    if (ch.role !== 'postcopy-preempt') return;
    this.#seen = true;
    if (r.kind !== 'ram-page' && r.kind !== 'ram-zero') this.fail(`a ${r.kind} record on the preempt channel`, ch.name, r.offset, at);
  }

  protected verdict(): RuleResult {
    return this.#seen || this.facts.channels.some((c) => c.role === 'postcopy-preempt') ? this.pass('only PAGE/ZERO records') : this.notApplicable('no postcopy-preempt channel');
  }
}
