/**
 * packet-numbers: multifd packet numbers increase per channel, are unique across channels, and
 * leave no number out (one counter numbers every channel's packets).
 * QEMU 7.2 may repeat a SYNC's number on the empty packet that follows it (a race in its sender):
 * that alone is allowed. Ownership is one byte per packet number (numbers count up from 0);
 * numbers past MAX_NUMBERS are checked per channel only.
 */
import type { CodecRecord, U64 } from '@migwire/stream-codec';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

const MAX_NUMBERS = 1 << 26;

export class PacketNumbersRule extends Rule {
  readonly id = 'packet-numbers';
  override readonly seesPages = false;
  readonly #last = new Map<string, { num: U64; sync: boolean }>();
  readonly #names: string[] = [];
  #owner = new Uint8Array(1024);
  #packets = 0;
  #unchecked = 0;
  /** 7.2's repeated numbers: each took a number its counter had already moved past, leaving one out. */
  #repeats = 0;

  override observe(ch: RuleChannel, r: CodecRecord, at: number | undefined): void {
    if (r.kind !== 'multifd-packet') return;
    this.#packets++;
    const prev = this.#last.get(ch.name);
    const quirk = prev !== undefined && prev.num === r.packetNum && prev.sync && r.normalPages + r.zeroPages === 0 && r.flags === 0;
    if (quirk) this.#repeats++;
    if (prev && r.packetNum <= prev.num && !quirk) this.fail(`packet #${r.packetNum} on ${ch.name} after #${prev.num}`, ch.name, r.offset + 24, at);
    if (prev) {
      prev.num = r.packetNum;
      prev.sync = r.sync;
    } else this.#last.set(ch.name, { num: r.packetNum, sync: r.sync });
    this.#own(ch, r.packetNum, r.offset, at);
  }

  #gaps(): { count: number; first: number[]; from: number; to: number } {
    const o = this.#owner;
    let max = -1;
    let min = -1;
    for (let n = 0; n < o.length; n++) {
      if (o[n] === 0) continue;
      if (min < 0) min = n;
      max = n;
    }
    const from = this.facts.channels.some((c) => c.role === 'multifd' && c.midStream) ? Math.max(0, min) : 0;
    const first: number[] = [];
    let count = 0;
    for (let n = from; n < max; n++) {
      if (o[n] !== 0) continue;
      count++;
      if (first.length < 5) first.push(n);
    }
    return { count, first, from, to: max };
  }

  #own(ch: RuleChannel, num: U64, offset: number, at: number | undefined): void {
    if (typeof num !== 'number' || !(num >= 0 && num < MAX_NUMBERS)) {
      this.#unchecked++;
      return;
    }
    if (num >= this.#owner.length) {
      const next = new Uint8Array(Math.min(MAX_NUMBERS, Math.max(this.#owner.length * 2, num + 1)));
      next.set(this.#owner);
      this.#owner = next;
    }
    let me = this.#names.indexOf(ch.name) + 1;
    if (me === 0 && this.#names.length < 255) me = this.#names.push(ch.name);
    const o = this.#owner[num]!;
    if (o !== 0 && o !== me) this.fail(`packet #${num} on ${ch.name} and on ${this.#names[o - 1]}`, ch.name, offset + 24, at);
    if (o === 0) this.#owner[num] = me;
  }

  protected verdict(): RuleResult {
    if (this.#packets === 0) return this.notApplicable('no multifd packets');
    // One counter numbers every packet of every channel: a number never seen is a packet lost
    // between source and capture (its pages are missing). From 0, unless a channel was captured
    // mid-stream; the last packets' loss shows in sync-per-flush instead.
    const gaps = this.#gaps();
    if (gaps.count > this.#repeats) {
      const first = gaps.first.map((n) => `#${n}`).join(', ');
      return { id: this.id, status: 'fail', detail: `${gaps.count} packet number${gaps.count === 1 ? '' : 's'} between #${gaps.from} and #${gaps.to} on no channel (${first}${gaps.count > gaps.first.length ? ', ...' : ''}): those packets are not in the capture` };
    }
    const unchecked = this.#unchecked ? ` (${this.#unchecked} numbers beyond ${MAX_NUMBERS} checked per channel only)` : '';
    const skipped = gaps.count ? `; ${gaps.count} number${gaps.count === 1 ? '' : 's'} left out, as many as the ${this.#repeats} QEMU 7.2 sent twice` : '; none left out';
    return this.pass(`${this.#packets} packets, numbers increase per channel and are unique${skipped}${unchecked}`);
  }
}
