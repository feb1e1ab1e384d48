/**
 * no-multifd-after-postcopy: once postcopy listens, vCPUs may run on the destination's pages, so
 * nothing may arrive on multifd: no page (it could overwrite memory in use) and, since QEMU 10.1
 * runs multifd with postcopy and ends it with a last flush before LISTEN, no SYNC either. Placed
 * by arrival time (chunks.csv offline; as it happens live).
 */
import type { CodecRecord, MainRecord } from '@migwire/stream-codec';
import { MultifdPostcopyAssertion } from '../destination/postcopy-assertion.js';
import { isSyncError } from '../errors.js';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

export class NoMultifdAfterPostcopyRule extends Rule {
  readonly id = 'no-multifd-after-postcopy';
  readonly #assertion = new MultifdPostcopyAssertion({ refuseEmptyPackets: true });

  override observe(ch: RuleChannel, r: CodecRecord, at: number | undefined): void {
    if (ch.role === 'main') this.#assertion.observeMain(r as MainRecord, at);
    else if (ch.role === 'multifd' && r.kind === 'multifd-packet' && this.facts.timed) {
      try {
        this.#assertion.checkPacket(ch.multifdId ?? 0, r, at);
      } catch (e) {
        if (!isSyncError(e)) throw e;
        this.fail(`${e.message} (packet #${r.packetNum})`, ch.name, r.offset, at);
      }
    }
  }

  protected verdict(): RuleResult {
    const postcopy = this.facts.listen !== undefined;
    if (!postcopy || this.facts.multifdChannels.length === 0) return this.notApplicable(postcopy ? 'no multifd channels' : 'no postcopy');
    if (!this.facts.timed) return { id: this.id, status: 'fail', detail: 'postcopy and multifd together, but no chunks.csv to order them' };
    return this.pass('every multifd packet arrived before POSTCOPY_LISTEN');
  }
}
