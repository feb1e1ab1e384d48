/**
 * switchover-ack: with the capability on, the destination's acknowledgements come, as many as the
 * mode calls for, before the migration completes. Two modes:
 * - legacy (machine types up to 11.0, or switchover-ack-legacy=on): one SWITCHOVER_ACK, once the
 *   return path is open and every device that counts has loaded its initial data (SwitchoverAckGate);
 * - 11.1 machine types: one SWITCHOVER_ACK per device that needs one (VFIO devices with initial
 *   data), none when no device does.
 * The mode comes from the switchover-ack-legacy property recorded in meta.json, else from the
 * machine type in the stream's configuration section, else it is inferred and the detail says so.
 */
import type { CodecRecord, MainRecord, ReturnPathRecord } from '@migwire/stream-codec';
import { isSyncError } from '../errors.js';
import { SwitchoverAckGate } from '../switchover/ack-gate.js';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

/** Sections of devices that can ask for an ACK (VFIO is the only kind in QEMU that does). */
const ACK_CAPABLE = /vfio/i;

export class SwitchoverAckRule extends Rule {
  override readonly live = false;
  readonly id = 'switchover-ack';
  override readonly seesPages = false;
  // Needs the stream start: OPEN_RETURN_PATH, the machine type and the device sections come first.
  override readonly needsStartOf = ['main'] as const;
  readonly #gate = new SwitchoverAckGate({ sourceEnabled: true, destinationEnabled: true, destinationDevices: [] });
  readonly #devices = new Set<string>();
  #acks = 0;
  #first: { offset: number; at: number | undefined } | undefined;
  #gateProblem: { message: string; offset: number } | undefined;

  override observe(ch: RuleChannel, r: CodecRecord, at: number | undefined): void {
    if (ch.role === 'main') {
      const m = r as MainRecord;
      if (m.kind === 'command' && m.args.command === 'OPEN_RETURN_PATH') this.#gate.returnPathOpened();
      if (m.kind === 'section' && ACK_CAPABLE.test(m.idstr) && this.#devices.size < 1024) this.#devices.add(m.idstr);
      return;
    }
    if (ch.role !== 'return-path') return;
    const m = r as ReturnPathRecord;
    if (m.kind !== 'rp-message' || m.args.message !== 'SWITCHOVER_ACK') return;
    this.#acks++;
    this.#first ??= { offset: m.offset, at };
    try {
      this.#gate.ackReceived();
    } catch (e) {
      if (!isSyncError(e)) throw e;
      this.#gateProblem ??= { message: e.message, offset: m.offset };
    }
  }

  /** Legacy or per-device, and how that was decided. */
  #mode(): { legacy: boolean; why: string } {
    const prop = this.facts.config?.switchoverAckLegacy;
    if (prop !== undefined) return { legacy: prop, why: `switchover-ack-legacy=${prop ? 'on' : 'off'} in meta.json` };
    const v = this.facts.machineVersion;
    if (v) {
      const legacy = v[0] < 11 || (v[0] === 11 && v[1] === 0);
      return { legacy, why: `machine type ${this.facts.machine}` };
    }
    const legacy = this.#acks === 1 && this.#devices.size === 0;
    return { legacy, why: `inferred from the stream (machine type unknown): ${this.#acks} ACK, ${this.#devices.size} VFIO devices` };
  }

  protected verdict(): RuleResult {
    const caps = this.facts.config?.caps;
    const on = caps ? caps['switchover-ack'] === true : this.#acks > 0;
    if (!on) {
      if (this.#acks > 0) return { id: this.id, status: 'fail', detail: 'SWITCHOVER_ACK on the return path with switchover-ack off', channel: 'return-path', offset: this.#first!.offset };
      return this.notApplicable(caps ? 'switchover-ack off' : 'configuration unknown (no meta.json)');
    }
    const { legacy, why } = this.#mode();
    const mode = `${legacy ? 'legacy: one ACK' : 'one ACK per device that needs one'}; ${why}`;
    const end = this.facts.mainEnd?.at;
    const late = this.#first?.at !== undefined && end !== undefined && this.#first.at > end;
    if (legacy) {
      if (this.#acks === 0) return { id: this.id, status: 'fail', detail: `switchover-ack on, but no SWITCHOVER_ACK on the return path (${mode})`, channel: 'return-path' };
      if (this.#gateProblem) return { id: this.id, status: 'fail', detail: `${this.#gateProblem.message} (${mode})`, channel: 'return-path', offset: this.#gateProblem.offset };
      if (late) return { id: this.id, status: 'fail', detail: `SWITCHOVER_ACK arrived after the migration completed (${mode})`, channel: 'return-path', offset: this.#first!.offset };
      return this.pass(`SWITCHOVER_ACK before completion (${mode})`);
    }
    const devices = this.#devices.size;
    if (this.#acks > devices) return { id: this.id, status: 'fail', detail: `${this.#acks} SWITCHOVER_ACK, but ${devices} device${devices === 1 ? '' : 's'} could need one (${mode})`, channel: 'return-path', offset: this.#first!.offset };
    if (late) return { id: this.id, status: 'fail', detail: `SWITCHOVER_ACK arrived after the migration completed (${mode})`, channel: 'return-path', offset: this.#first!.offset };
    if (this.#acks === 0) return this.pass(`no SWITCHOVER_ACK, and no device needs one (${mode})`);
    return this.pass(`${this.#acks} SWITCHOVER_ACK before completion, for ${devices} device${devices === 1 ? '' : 's'} (${mode})`);
  }
}
