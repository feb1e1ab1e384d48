/** Every rule, in the order `migwire check` prints them. */
import { DecodesRule } from './decodes.js';
import type { StreamFacts } from './facts.js';
import { MultifdChannelIdsRule } from './multifd-channel-ids.js';
import { NoMultifdAfterPostcopyRule } from './no-multifd-after-postcopy.js';
import { PacketNumbersRule } from './packet-numbers.js';
import { PageRequestsServedRule } from './page-requests-served.js';
import { PingPongRule } from './ping-pong.js';
import { PostcopyFinalFlushRule } from './postcopy-final-flush.js';
import { PostcopyPackageRule } from './postcopy-package.js';
import { PostcopyRamRecordsRule } from './postcopy-ram-records.js';
import { PreemptOpenedLastRule } from './preempt-opened-last.js';
import { PreemptPagesOnlyRule } from './preempt-pages-only.js';
import { RemovedCommandsRule } from './removed-commands.js';
import { ReturnPathShutRule } from './return-path-shut.js';
import { SectionsKnownRule } from './sections-known.js';
import { DevicesDescribedRule } from './devices-described.js';
import { RoundOrderRule } from './round-order.js';
import type { Rule, RuleChannel } from './rule.js';
import type { CodecRecord } from '@migwire/stream-codec';
import { SwitchoverAckRule } from './switchover-ack.js';
import { SyncPerFlushRule } from './sync-per-flush.js';

export interface RuleSet {
  rules: Rule[];
  /** Kept apart: it also gives the rounds summary `check` prints. */
  roundOrder: RoundOrderRule | undefined;
  /** A record to the stream facts, then to every rule that looks at its kind. */
  observe(channel: RuleChannel, record: CodecRecord, at: number | undefined): void;
}

/** A fresh set of rules over `facts`; `live` leaves out the ones that need payloads or the whole recording. */
export function createRules(facts: StreamFacts, o: { live: boolean; arrival?: (ch: RuleChannel, offset: number) => number | undefined }): RuleSet {
  const roundOrder = new RoundOrderRule(facts, o.arrival);
  const all: Rule[] = [
    new DecodesRule(facts),
    new MultifdChannelIdsRule(facts),
    new PacketNumbersRule(facts),
    new SyncPerFlushRule(facts),
    roundOrder,
    new NoMultifdAfterPostcopyRule(facts),
    new PreemptPagesOnlyRule(facts),
    new PingPongRule(facts),
    new ReturnPathShutRule(facts),
    new PageRequestsServedRule(facts),
    new SwitchoverAckRule(facts),
    new PostcopyFinalFlushRule(facts),
    new PostcopyRamRecordsRule(facts),
    new PreemptOpenedLastRule(facts),
    new PostcopyPackageRule(facts),
    new RemovedCommandsRule(facts),
    new SectionsKnownRule(facts),
    new DevicesDescribedRule(facts),
  ];
  const rules = o.live ? all.filter((r) => r.live) : all;
  const pageRules = rules.filter((r) => r.seesPages);
  const observe = (ch: RuleChannel, r: CodecRecord, at: number | undefined): void => {
    facts.observe(ch, r, at);
    for (const rule of r.kind === 'ram-page' || r.kind === 'ram-zero' ? pageRules : rules) rule.observe(ch, r, at);
  };
  return { rules, roundOrder: o.live ? undefined : roundOrder, observe };
}
