/**
 * The rules while bytes flow (`migwire record --check`): the same rule objects as checkCapture,
 * fed each channel's records as the proxy forwards them (headers only: multifd payloads are not
 * decompressed or kept), reporting a violation the moment a rule sees it. Rules that need page
 * contents or the whole migration run on the finished recording instead.
 */
import { CodecError, decoderFor, isChannelRole, type ChannelRole, type Decoder } from '@migwire/stream-codec';
import { createRules, type RuleSet } from './all-rules.js';
import { StreamFacts, type RecordedConfiguration } from './facts.js';
import type { Rule, RuleChannel, RuleResult, Violation } from './rule.js';

interface Stream {
  channel: RuleChannel;
  decoder: Decoder;
  bytes: number;
  error: CodecError | undefined;
}

/** A violation seen live: `t` is when the offending bytes arrived (seconds, the recorder's clock). */
export type LiveViolation = Violation & { t: number };

export class LiveChecker {
  readonly violations: LiveViolation[] = [];
  readonly #facts: StreamFacts;
  readonly #rules: Rule[];
  readonly #set: RuleSet;
  readonly #streams = new Map<string, Stream>();
  readonly #roles = new Map<number, { role: ChannelRole; multifdId?: number }>();
  #now = 0;

  constructor(onViolation: (v: LiveViolation) => void = () => {}, config?: RecordedConfiguration) {
    this.#facts = new StreamFacts({ ...(config ? { config } : {}), timed: true });
    this.#set = createRules(this.#facts, { live: true });
    this.#rules = this.#set.rules;
    for (const r of this.#rules) {
      r.onViolation((v) => {
        const seen = { ...v, t: v.t ?? this.#now };
        this.violations.push(seen);
        onViolation(seen);
      });
    }
  }

  /** A connection was identified (connections numbered in accept order). */
  onRole(connection: number, role: ChannelRole | string, multifdId?: number): void {
    if (!isChannelRole(role)) return;
    this.#roles.set(connection, multifdId === undefined ? { role } : { role, multifdId });
  }

  onChunk(connection: number, direction: 'src2dst' | 'dst2src', chunk: Uint8Array, t: number): void {
    this.#now = t;
    const s = this.#stream(connection, direction);
    if (!s || s.error) return;
    s.bytes += chunk.length;
    try {
      s.decoder.write(chunk, (r) => {
        this.#set.observe(s.channel, r, t);
      });
      // The recorder reads into the same memory again once this returns: keep no view of it.
      s.decoder.ownPending();
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      s.error = e;
      for (const rule of this.#rules) rule.channelEnded(s.channel, { error: e, bytes: s.bytes });
    }
  }

  /** The verdict of every live rule once the recording is over. */
  finish(): RuleResult[] {
    for (const s of this.#streams.values()) if (!s.error) for (const rule of this.#rules) rule.channelEnded(s.channel, { bytes: s.bytes });
    return this.#rules.map((r) => r.result());
  }

  /** Arrival time of the last chunk (seconds). */
  get now(): number {
    return this.#now;
  }

  #stream(connection: number, direction: 'src2dst' | 'dst2src'): Stream | undefined {
    const key = `${connection}.${direction}`;
    const known = this.#streams.get(key);
    if (known) return known;
    const r = this.#roles.get(connection);
    if (!r) return undefined;
    let channel: RuleChannel;
    let decoder: Decoder;
    if (direction === 'dst2src') {
      if (r.role !== 'main') return undefined;
      channel = { name: 'return-path', role: 'return-path', conn: connection };
      decoder = decoderFor('return-path');
    } else if (r.role === 'main' || r.role === 'postcopy-preempt') {
      channel = { name: r.role, role: r.role, conn: connection };
      decoder = decoderFor(r.role);
    } else if (r.role === 'multifd') {
      const name = `multifd ${r.multifdId ?? '?'}`;
      channel = { name, role: 'multifd', conn: connection, ...(r.multifdId !== undefined ? { multifdId: r.multifdId } : {}) };
      decoder = decoderFor('multifd', { channel: name, omitPayloads: true });
    } else return undefined;
    const s: Stream = { channel, decoder, bytes: 0, error: undefined };
    this.#streams.set(key, s);
    this.#facts.addChannel(channel);
    return s;
  }
}
