/**
 * page-requests-served: every page the destination asked for on the return path (REQ_PAGES_ID,
 * REQ_PAGES) was sent after postcopy began, on main or on the preempt channel, and no request
 * runs past the end of its RAM block (a QEMU source fails the migration on one: the destination
 * never asks for it). Pages served are one byte per page (PageTable); requests four numbers each
 * in growable typed arrays.
 */
import type { CodecRecord, MainRecord, ReturnPathRecord } from '@migwire/stream-codec';
import { PageTable } from './page-table.js';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

class Requests {
  block = new Uint16Array(256);
  start = new Float64Array(256);
  offset = new Float64Array(256);
  bytes = new Float64Array(256);
  length = 0;

  push(block: number, start: number, offset: number, bytes: number): void {
    if (this.length === this.block.length) {
      const grow = <T extends Uint16Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.block = grow(this.block);
      this.start = grow(this.start);
      this.offset = grow(this.offset);
      this.bytes = grow(this.bytes);
    }
    this.bytes[this.length] = bytes;
    this.block[this.length] = block;
    this.start[this.length] = start;
    this.offset[this.length++] = offset;
  }
}

export class PageRequestsServedRule extends Rule {
  override readonly live = false;
  readonly id = 'page-requests-served';
  // Needs the stream start: POSTCOPY_LISTEN may precede the resume point.
  override readonly needsStartOf = ['main'] as const;
  readonly served = new PageTable({ sent: ['u8', 0] });
  readonly #requests = new Requests();
  readonly #blocks: string[] = [];
  /** Each RAM block's used length, from main's block list (MEM_SIZE). */
  readonly #lengths = new Map<string, number>();
  #lastBlock = '';
  /** Exact starts of the (never answerable) requests beyond 2^53, by request index. */
  readonly #huge = new Map<number, bigint>();

  override observe(ch: RuleChannel, r: CodecRecord): void {
    if (ch.role === 'main' || ch.role === 'postcopy-preempt') {
      const m = r as MainRecord;
      if (m.kind === 'ram-block') this.#lengths.set(m.block.name, m.block.usedLength);
      if (m.kind !== 'ram-page' && m.kind !== 'ram-zero') return;
      if (ch.role === 'main' && this.facts.listen === undefined) return;
      const b = this.served.block(m.block);
      const i = b.index(m.pageOffset);
      if (i !== undefined) b.columns.sent[i] = 1;
    } else if (ch.role === 'return-path') {
      const m = r as ReturnPathRecord;
      if (m.kind !== 'rp-message') return;
      if (m.args.message === 'REQ_PAGES_ID') this.#lastBlock = m.args.block;
      if (m.args.message !== 'REQ_PAGES_ID' && m.args.message !== 'REQ_PAGES') return;
      let k = this.#blocks.indexOf(this.#lastBlock);
      if (k < 0 && this.#blocks.length < 0xffff) k = this.#blocks.push(this.#lastBlock) - 1;
      const start = m.args.start;
      if (typeof start === 'bigint') this.#huge.set(this.#requests.length, start);
      this.#requests.push(Math.max(k, 0), Number(start), m.offset, m.args.length);
    }
  }

  protected verdict(): RuleResult {
    const q = this.#requests;
    if (q.length === 0) return this.notApplicable('no page requests');
    for (let k = 0; k < q.length; k++) {
      const block = this.#blocks[q.block[k]!]!;
      const start = this.#huge.get(k) ?? q.start[k]!;
      const used = this.#lengths.get(block);
      const bytes = q.bytes[k]!;
      if (used !== undefined && (typeof start !== 'number' || start + bytes > used)) {
        return { id: this.id, status: 'fail', detail: `request for "${block}" +0x${start.toString(16)} length ${bytes} runs past the block's end (0x${used.toString(16)} bytes): a QEMU source fails the migration on it`, channel: 'return-path', offset: q.offset[k]! };
      }
      const b = this.served.blocks.get(block);
      const i = typeof start === 'number' ? b?.index(start) : undefined;
      if (b && i !== undefined && b.columns.sent[i] === 1) continue;
      return { id: this.id, status: 'fail', detail: `request for "${block}" +0x${start.toString(16)} never answered by a page`, channel: 'return-path', offset: q.offset[k]! };
    }
    return this.pass(`${q.length} requests, each answered by its page`);
  }
}
