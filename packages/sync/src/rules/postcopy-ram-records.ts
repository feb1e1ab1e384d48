/**
 * postcopy-ram-records: once postcopy listens, RAM travels as PAGE and ZERO records (and the
 * section's EOS) on main and on the preempt channel, nothing else: no XBZRLE or compressed page,
 * no MULTIFD_FLUSH (multifd is over), no block list.
 */
import type { CodecRecord } from '@migwire/stream-codec';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

const ALLOWED = new Set(['ram-page', 'ram-zero', 'ram-eos']);

export class PostcopyRamRecordsRule extends Rule {
  readonly id = 'postcopy-ram-records';
  // Needs the stream start: POSTCOPY_LISTEN may precede the resume point.
  override readonly needsStartOf = ['main'] as const;
  #records = 0;

  override observe(ch: RuleChannel, r: CodecRecord, at: number | undefined): void {
    const late = ch.role === 'postcopy-preempt' || (ch.role === 'main' && this.facts.listen !== undefined);
    if (!late || !r.kind.startsWith('ram-')) return;
    this.#records++;
    if (!ALLOWED.has(r.kind)) this.fail(`a ${r.kind} record on ${ch.name} after POSTCOPY_LISTEN: only ZERO, PAGE and EOS may follow`, ch.name, r.offset, at);
  }

  protected verdict(): RuleResult {
    if (this.facts.listen === undefined) return this.notApplicable('no postcopy');
    return this.pass(`${this.#records} RAM records after POSTCOPY_LISTEN, all ZERO, PAGE or EOS`);
  }
}
