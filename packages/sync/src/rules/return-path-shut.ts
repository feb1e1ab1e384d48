/**
 * return-path-shut: a destination that opened a return path ends it with SHUT when it tears its
 * incoming migration down, status 0 when the load worked (every real recording of 7.2-11.1 here
 * does). So once main has reached QEMU_VM_EOF:
 *  - a return path that ends without SHUT lost its end (a recording or a capture cut short), or
 *    the destination stopped before it was done;
 *  - SHUT with a non-zero status is the destination saying the load failed;
 *  - a message after SHUT on the same connection is one QEMU never sends.
 * A postcopy recovery opens a new return path: one SHUT among them is what is asked for.
 */
import type { CodecRecord, ReturnPathRecord } from '@migwire/stream-codec';
import { Rule, type ChannelEnd, type RuleChannel, type RuleResult } from './rule.js';

export class ReturnPathShutRule extends Rule {
  override readonly live = false;
  readonly id = 'return-path-shut';
  override readonly seesPages = false;
  #messages = 0;
  /** The last return path with messages, and where it ended. */
  #last: { channel: string; end?: ChannelEnd } | undefined;
  readonly #shut = new Map<string, { offset: number; status: number }>();

  override observe(ch: RuleChannel, r: CodecRecord): void {
    if (ch.role !== 'return-path') return;
    const m = r as ReturnPathRecord;
    this.#messages++;
    if (this.#last?.channel !== ch.name) this.#last = { channel: ch.name };
    const shut = this.#shut.get(ch.name);
    const name = m.kind === 'rp-message' ? m.name : 'RECV_BITMAP data';
    if (shut) {
      this.fail(`${name} after SHUT (at byte ${shut.offset}): QEMU sends nothing after it`, ch.name, m.offset);
      return;
    }
    if (m.kind !== 'rp-message' || m.args.message !== 'SHUT') return;
    this.#shut.set(ch.name, { offset: m.offset, status: m.args.status });
    if (m.args.status !== 0) this.fail(`SHUT with status ${m.args.status}: the destination failed to load the migration`, ch.name, m.offset);
  }

  override channelEnded(ch: RuleChannel, end: ChannelEnd): void {
    if (ch.role === 'return-path' && this.#last?.channel === ch.name) this.#last.end = end;
  }

  protected verdict(): RuleResult {
    if (this.#messages === 0 || !this.#last) return this.notApplicable('no return-path messages');
    const mainEnd = this.facts.mainEnd;
    if (mainEnd === undefined) return this.notApplicable('the main stream did not reach QEMU_VM_EOF: the destination had no reason to end the return path');
    const shut = [...this.#shut.entries()].at(-1);
    if (shut) return this.pass(`SHUT (status 0) at byte ${shut[1].offset} of ${shut[0]}`);
    const { channel, end } = this.#last;
    if (end?.error) return this.notApplicable(`${channel} did not decode to its end (see decodes)`);
    const at = end !== undefined ? ` at byte ${end.bytes}` : '';
    return {
      id: this.id,
      status: 'fail',
      detail: `main reached QEMU_VM_EOF (byte ${mainEnd.offset}) but ${channel} ends${at} without SHUT after ${this.#messages} message(s): its end is not in the recording, or the destination stopped before it was done`,
      channel,
      ...(end !== undefined ? { offset: end.bytes } : {}),
    };
  }
}
