/**
 * postcopy-package: the switch to postcopy travels in one PACKAGED command holding POSTCOPY_LISTEN,
 * the device state, PING 3, PING 0x42 (PACKAGED_LOADED, QEMU 10.2+) and POSTCOPY_RUN, in that
 * order; the destination answers the PINGs once it has loaded the package.
 */
import { Command, type CodecRecord, type MainRecord, type ReturnPathRecord } from '@migwire/stream-codec';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

const LOADED = 0x42;

export class PostcopyPackageRule extends Rule {
  override readonly live = false;
  readonly id = 'postcopy-package';
  override readonly seesPages = false;
  // Needs the stream start: POSTCOPY_LISTEN may precede the resume point.
  override readonly needsStartOf = ['main'] as const;
  #packages = 0;
  /** What the first package held, in order. */
  readonly #held: Array<{ what: string; offset: number }> = [];
  #package: number | undefined;
  readonly #pongs = new Set<number>();

  override observe(ch: RuleChannel, r: CodecRecord): void {
    if (ch.role === 'return-path') {
      const m = r as ReturnPathRecord;
      if (m.kind === 'rp-message' && m.args.message === 'PONG') this.#pongs.add(m.args.value);
      return;
    }
    if (ch.role !== 'main') return;
    const m = r as MainRecord;
    if (m.kind !== 'command') return;
    if (m.command === Command.Packaged) {
      this.#packages++;
      this.#package ??= m.offset;
      return;
    }
    if (m.depth === 0 && m.command !== Command.PostcopyListen && m.command !== Command.PostcopyRun) return;
    const inFirst = m.depth > 0 && this.#packages === 1;
    const what = m.args.command === 'PING' ? `PING ${m.args.value === LOADED ? '0x42' : m.args.value}` : m.args.command;
    if (m.command === Command.PostcopyListen || m.command === Command.PostcopyRun) {
      if (m.depth === 0) this.fail(`${what} outside PACKAGED`, 'main', m.offset);
      else if (!inFirst) this.fail(`${what} in a second PACKAGED`, 'main', m.offset);
    }
    if (inFirst && this.#held.length < 16) this.#held.push({ what, offset: m.offset });
  }

  protected verdict(): RuleResult {
    if (this.facts.listen === undefined) return this.notApplicable('no postcopy');
    const order = this.#held.map((h) => h.what);
    const at = (w: string): number => order.indexOf(w);
    const where = this.#package;
    const bad = (detail: string): RuleResult => ({ id: this.id, status: 'fail', detail: `${detail} (package holds ${order.join(', ') || 'nothing'})`, channel: 'main', ...(where !== undefined ? { offset: where } : {}) });
    if (at('POSTCOPY_LISTEN') !== 0) return bad('POSTCOPY_LISTEN does not open the package');
    if (at('POSTCOPY_RUN') !== order.length - 1) return bad('POSTCOPY_RUN does not close the package');
    if (at('PING 3') < 0) return bad('no PING 3 in the package');
    const loaded = at('PING 0x42');
    const v = this.facts.machineVersion;
    const needsLoaded = v !== undefined && (v[0] > 10 || (v[0] === 10 && v[1] >= 2));
    if (loaded < 0 && needsLoaded) return bad(`no PING 0x42 (PACKAGED_LOADED) in the package, which QEMU 10.2+ sends (machine type ${this.facts.machine})`);
    if (loaded >= 0 && loaded < at('PING 3')) return bad('PING 0x42 before PING 3');
    const unanswered = [3, ...(loaded >= 0 ? [LOADED] : [])].filter((p) => !this.#pongs.has(p));
    if (unanswered.length) return bad(`PING ${unanswered.map((p) => (p === LOADED ? '0x42' : p)).join(', ')} in the package not answered by a PONG`);
    return this.pass(`one PACKAGED: ${order.join(', ')}; ${loaded >= 0 ? 'PING 3 and 0x42' : 'PING 3'} answered`);
  }
}
