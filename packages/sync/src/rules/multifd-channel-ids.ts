/** multifd-channel-ids: each multifd channel's init id is unique, the ids are exactly 0..N-1, and N is meta.json's multifd-channels when recorded. */
import type { CodecRecord } from '@migwire/stream-codec';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

export class MultifdChannelIdsRule extends Rule {
  readonly id = 'multifd-channel-ids';
  override readonly seesPages = false;
  // Needs the stream start: the ids are in the init messages.
  override readonly needsStartOf = ['multifd'] as const;
  readonly #seen = new Map<number, string>();
  #inits = 0;

  override observe(ch: RuleChannel, r: CodecRecord, at: number | undefined): void {
    if (r.kind !== 'multifd-init') return;
    this.#inits++;
    const other = this.#seen.get(r.channelId);
    if (other !== undefined) this.fail(`channel id ${r.channelId} on ${ch.name} was already used by ${other}`, ch.name, r.offset + 24, at);
    else this.#seen.set(r.channelId, ch.name);
  }

  protected verdict(): RuleResult {
    // meta.json's multifd-channels says how many there should be: a connection emptied or never
    // opened leaves the ids that are there consistent, and is seen only against it.
    const want = this.facts.config?.multifdChannels;
    if (want !== undefined && this.#inits !== want) {
      return { id: this.id, status: 'fail', detail: `meta.json records multifd-channels ${want}, the capture holds ${this.#inits} multifd init message${this.#inits === 1 ? '' : 's'}` };
    }
    if (this.#inits === 0) return this.notApplicable('no multifd channels');
    const missing: number[] = [];
    for (let k = 0; k < this.#inits; k++) if (!this.#seen.has(k)) missing.push(k);
    if (missing.length) return { id: this.id, status: 'fail', detail: `ids ${missing.join(', ')} missing among ${this.#inits} channels` };
    return this.pass(`${this.#inits} channels, ids ${[...this.#seen.keys()].sort((a, b) => a - b).join(', ')}`);
  }
}
