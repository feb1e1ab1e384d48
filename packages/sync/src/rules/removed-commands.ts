/**
 * removed-commands: command 8 (ENABLE_COLO) is deprecated, and a QEMU 11.0+ destination rejects
 * it: flagged when the stream's machine type says the destination is 11.x.
 */
import { Command, type CodecRecord } from '@migwire/stream-codec';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

export class RemovedCommandsRule extends Rule {
  readonly id = 'removed-commands';
  override readonly seesPages = false;
  // Needs the stream start: the machine type is in CONFIGURATION.
  override readonly needsStartOf = ['main'] as const;
  #seen: number | undefined;

  override observe(ch: RuleChannel, r: CodecRecord, at: number | undefined): void {
    if (ch.role !== 'main' || r.kind !== 'command' || r.command !== Command.EnableColo) return;
    this.#seen ??= r.offset;
    const v = this.facts.machineVersion;
    if (v && v[0] >= 11) this.fail(`command 8 (ENABLE_COLO) with machine type ${this.facts.machine}: QEMU 11.0 and later reject it`, ch.name, r.offset, at);
  }

  protected verdict(): RuleResult {
    if (this.#seen === undefined) return this.notApplicable('no deprecated command');
    return this.pass(`command 8 (ENABLE_COLO) at byte ${this.#seen}, accepted before QEMU 11.0 (machine type ${this.facts.machine ?? 'unknown'})`);
  }
}
