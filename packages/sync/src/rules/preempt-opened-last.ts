/**
 * preempt-opened-last: the postcopy-preempt channel is the last connection: the source opens it
 * after main and after every multifd channel (the destination tells channels apart by that order
 * where their first bytes do not).
 */
import { Rule, type RuleResult } from './rule.js';

export class PreemptOpenedLastRule extends Rule {
  readonly id = 'preempt-opened-last';
  // Needs the stream start: connection order without SYNs is not accept order.
  override readonly needsStartOf = ['main', 'multifd'] as const;

  protected verdict(): RuleResult {
    const chans = this.facts.channels;
    const preempt = chans.find((c) => c.role === 'postcopy-preempt');
    if (!preempt) return this.notApplicable('no postcopy-preempt channel');
    const later = chans.find((c) => (c.role === 'main' || c.role === 'multifd') && c.conn > preempt.conn);
    if (later) return { id: this.id, status: 'fail', detail: `postcopy-preempt is connection ${preempt.conn}, opened before ${later.name} (connection ${later.conn})`, channel: preempt.name };
    const multifd = chans.filter((c) => c.role === 'multifd').length;
    return this.pass(`connection ${preempt.conn}, after main${multifd ? ` and ${multifd} multifd channels` : ''}`);
  }
}
