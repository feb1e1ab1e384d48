/**
 * What every rule is: an object fed the decoded records of a migration (offline by checkCapture,
 * live by LiveChecker: the same objects either way) that ends with one result. A rule reports its
 * first violation the moment it sees it (live users print it), and decides the rest at the end.
 */
import type { ChannelRole, CodecError, CodecRecord } from '@migwire/stream-codec';
import type { StreamFacts } from './facts.js';

export type RuleStatus = 'pass' | 'fail' | 'n/a';

/** The ids users see (`migwire check`, `record --check`): stable, scripts match on them. */
export type RuleId =
  | 'decodes'
  | 'multifd-channel-ids'
  | 'packet-numbers'
  | 'sync-per-flush'
  | 'round-order'
  | 'no-multifd-after-postcopy'
  | 'preempt-pages-only'
  | 'ping-pong'
  | 'return-path-shut'
  | 'page-requests-served'
  | 'switchover-ack'
  | 'postcopy-final-flush'
  | 'postcopy-ram-records'
  | 'preempt-opened-last'
  | 'postcopy-package'
  | 'removed-commands'
  | 'sections-known'
  | 'devices-described';

export interface RuleResult {
  id: RuleId;
  status: RuleStatus;
  detail: string;
  /**
   * Status 'n/a' because the rule needs the start of a channel the capture missed (a packet
   * capture that began mid-migration): nothing was checked, which is not the same as nothing to check.
   */
  notChecked?: true;
  /** Where the first violation is. */
  channel?: string;
  offset?: number;
}

/** A violation as it happened (live: `t` is the arrival time, seconds). */
export interface Violation {
  id: RuleId;
  channel: string;
  offset: number | undefined;
  detail: string;
  t: number | undefined;
}

/** One channel as the rules know it. */
export interface RuleChannel {
  /** Display name: "main", "return-path", "multifd 2", "postcopy-preempt", ... */
  name: string;
  role: ChannelRole;
  /** Connection index: the order the destination accepted the connections in. */
  conn: number;
  multifdId?: number;
  /** The capture missed the channel's start: its records begin `skipped` captured bytes in. */
  midStream?: { skipped: number };
}

/** How a channel's decode ended. */
export interface ChannelEnd {
  error?: CodecError;
  /** Set when the channel's role has no decoder (TLS, unrecognised first bytes, no bytes). */
  skipped?: string;
  bytes: number;
}

export abstract class Rule {
  abstract readonly id: RuleId;
  /** False for rules that need page payloads or the whole recording (offline only). */
  readonly live: boolean = true;
  /**
   * Roles whose stream start the rule needs (counts from the first record, the configuration, the
   * section table, init messages): with such a channel captured from mid-way it is not checked.
   */
  readonly needsStartOf: ReadonlyArray<'main' | 'multifd'> = [];
  /**
   * False for rules that ignore RAM PAGE and ZERO records, which are then not passed to them: they
   * are nearly every record of a stream (see createRules' dispatch).
   */
  readonly seesPages: boolean = true;
  #failure: RuleResult | undefined;
  #listener: ((v: Violation) => void) | undefined;

  constructor(protected readonly facts: StreamFacts) {}

  /** Called for every record of every channel, with its arrival time when known. */
  observe(_channel: RuleChannel, _record: CodecRecord, _at: number | undefined): void {}

  /** Called once a channel has ended (or failed). */
  channelEnded(_channel: RuleChannel, _end: ChannelEnd): void {}

  onViolation(listener: (v: Violation) => void): void {
    this.#listener = listener;
  }

  /** The rule's verdict: its first violation, else what the whole stream says. */
  result(): RuleResult {
    const missed = this.facts.channels.filter((c) => c.midStream && (this.needsStartOf as readonly string[]).includes(c.role));
    if (missed.length) {
      const names = missed.map((c) => c.name).join(', ');
      return { id: this.id, status: 'n/a', detail: `not checked: the capture missed the start of ${names}, which this rule needs`, notChecked: true };
    }
    return this.#failure ?? this.verdict();
  }

  protected get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** Records the first violation (later ones add nothing) and tells a live listener. */
  protected fail(detail: string, channel?: string, offset?: number, at?: number): void {
    if (this.#failure) return;
    this.#failure = { id: this.id, status: 'fail', detail, ...(channel !== undefined ? { channel } : {}), ...(offset !== undefined ? { offset } : {}) };
    this.#listener?.({ id: this.id, channel: channel ?? '', offset, detail, t: at });
  }

  protected pass(detail: string): RuleResult {
    return { id: this.id, status: 'pass', detail };
  }

  protected notApplicable(detail: string): RuleResult {
    return { id: this.id, status: 'n/a', detail };
  }

  /** The result when no violation was seen while the records went by. */
  protected abstract verdict(): RuleResult;
}
