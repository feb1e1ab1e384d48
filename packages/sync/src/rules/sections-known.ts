/**
 * sections-known: the destination has a handler for every section the stream opens. A QEMU
 * destination fails the load on a section it has no device for ("Unknown savevm section"); the
 * decoder cannot tell (an unknown name is opaque device data to it), so a renamed section once
 * passed every rule. Two facts QEMU gives us:
 *  - the stream's VMDESCRIPTION lists every device saved whole (SECTION_FULL), by the same name and
 *    instance id as its section (early-setup devices included); postcopy streams carry none;
 *  - every guest has RAM, and QEMU always sends it as the iterable section "ram".
 */
import { isVmdesc, type CodecRecord, type MainRecord } from '@migwire/stream-codec';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

/** The iterable section every migration has (QEMU registers it for every machine). */
const RAM_SECTION = 'ram';
/** Whole sections kept for the check at the end (a stream has a few dozen; more are not kept). */
const MAX_SECTIONS_KEPT = 4096;

export class SectionsKnownRule extends Rule {
  override readonly live = false;
  readonly id = 'sections-known';
  override readonly seesPages = false;
  // Counts from the first section: a capture from mid-way misses the ones before it.
  override readonly needsStartOf = ['main'] as const;
  readonly #full: Array<{ idstr: string; instance: number; offset: number }> = [];
  #ram = false;
  #devices: Set<string> | undefined;

  override observe(ch: RuleChannel, r: CodecRecord): void {
    if (ch.role !== 'main') return;
    const m = r as MainRecord;
    if (m.kind === 'section' && m.sectionType === 'start' && m.idstr === RAM_SECTION) this.#ram = true;
    else if (m.kind === 'section' && m.sectionType === 'full' && this.#full.length < MAX_SECTIONS_KEPT) this.#full.push({ idstr: m.idstr, instance: m.instanceId ?? 0, offset: m.offset });
    else if (m.kind === 'vmdescription' && isVmdesc(m.description)) this.#devices = new Set(m.description.devices.map((d) => key(d.name, d.instance_id)));
  }

  protected verdict(): RuleResult {
    if (this.facts.mainEnd === undefined) return this.notApplicable('the main stream did not reach QEMU_VM_EOF');
    if (!this.#ram) return { id: this.id, status: 'fail', detail: `no "${RAM_SECTION}" section: every QEMU migration sends the guest's RAM in one (a section QEMU does not know is rejected)`, channel: 'main' };
    const devices = this.#devices;
    if (!devices) return this.pass(`"${RAM_SECTION}" present; ${this.#full.length} device sections (no VMDESCRIPTION to hold them to)`);
    const unknown = this.#full.find((s) => !devices.has(key(s.idstr, s.instance)));
    if (unknown) {
      return {
        id: this.id,
        status: 'fail',
        detail: `SECTION_FULL ${JSON.stringify(unknown.idstr)} instance ${unknown.instance} is none of the ${devices.size} devices the stream's VMDESCRIPTION lists: a destination has no handler for it`,
        channel: 'main',
        offset: unknown.offset,
      };
    }
    return this.pass(`"${RAM_SECTION}" present; ${this.#full.length} device sections, each listed in the VMDESCRIPTION`);
  }
}

const key = (name: string, instance: number): string => `${instance}\u0000${name}`;
