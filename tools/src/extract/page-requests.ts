/**
 * Were the pages a postcopy destination asked for (REQ_PAGES on the return path) brought by main
 * or the preempt channel? extract asks the sync package's page-requests-served rule, fed with the
 * records extract reads anyway and, at the end, the return path: a preempt channel cut at a
 * record boundary decodes cleanly, and only the requests it never answered show the images lack pages.
 */
import { ReturnPathDecoder, type MainRecord, type ReturnPathRecord } from '@migwire/stream-codec';
import { ChannelCursor, type CaptureChannel } from '@migwire/capture';
import { PageRequestsServedRule, ruleChannel, StreamFacts, type RuleChannel } from '@migwire/sync';

export class PageRequests {
  readonly #facts = new StreamFacts({ timed: false });
  readonly #rule = new PageRequestsServedRule(this.#facts);
  readonly #main: RuleChannel | undefined;
  readonly #preempt: RuleChannel | undefined;
  readonly #returnPath: CaptureChannel | undefined;

  constructor(channels: readonly CaptureChannel[]) {
    const main = channels.find((c) => c.role === 'main');
    const preempt = channels.find((c) => c.role === 'postcopy-preempt');
    this.#returnPath = channels.find((c) => c.role === 'return-path');
    // Without a return path there are no requests to hold the pages to.
    if (!this.#returnPath) return;
    this.#main = main && ruleChannel(main);
    this.#preempt = preempt && ruleChannel(preempt);
    for (const c of [this.#main, this.#preempt]) if (c) this.#facts.addChannel(c);
  }

  /** Main's records are needed one by one (there is a return path whose requests they must answer). */
  get watching(): boolean {
    return this.#main !== undefined;
  }

  main(r: MainRecord): void {
    if (this.#main) this.#see(this.#main, r);
  }

  preempt(r: MainRecord): void {
    if (this.#preempt) this.#see(this.#preempt, r);
  }

  #see(ch: RuleChannel, r: MainRecord): void {
    this.#facts.observe(ch, r, undefined);
    this.#rule.observe(ch, r);
  }

  /** Why not every requested page was brought, or undefined (also without a return path, or one that does not decode: check says so). */
  async unserved(): Promise<string | undefined> {
    const rp = this.#returnPath;
    if (!rp || !this.#main) return undefined;
    const ch = ruleChannel(rp);
    this.#facts.addChannel(ch);
    const cur = new ChannelCursor<ReturnPathRecord>(rp, new ReturnPathDecoder({ channel: rp.name }));
    for (let r = await cur.next(); r; r = await cur.next()) {
      this.#facts.observe(ch, r, undefined);
      this.#rule.observe(ch, r);
    }
    const res = this.#rule.result();
    return res.status === 'fail' ? res.detail : undefined;
  }
}
