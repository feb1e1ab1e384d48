/**
 * devices-described: every device section's state is exactly what the stream's VMDESCRIPTION says
 * it is. QEMU writes the description while it saves, with each field's size as written, so a
 * destination reading the same device reads exactly those bytes and then expects the section
 * footer: bytes added to or cut from a device's state make it fail the load ("error while loading
 * state for instance ..."). The decoder cannot tell on its own (a device section has no length;
 * it ends at its footer), so 16 bytes inserted into a device once passed every rule.
 *
 * The description comes last in the stream; the decoder holds it from the start only where it can
 * read a file's end first. A device decoded without it is kept (copied: its bytes are views) and
 * held to the description once that arrives. Postcopy streams carry no description: not checked.
 * The dirty-bitmap and block sections are held to their chunk formats instead.
 */
import {
  BLOCK_MIGRATION_IDSTR,
  decodeBlockMigrationChunks,
  decodeDirtyBitmapChunks,
  decodeVmstate,
  DIRTY_BITMAP_IDSTR,
  indexVmdesc,
  isCodecError,
  isVfioIdstr,
  isVmdesc,
  type CodecRecord,
  type DeviceStateRecord,
  type MainRecord,
  type VmdescDevice,
} from '@migwire/stream-codec';
import { Rule, type RuleChannel, type RuleResult } from './rule.js';

/** Device bytes kept for the end (QEMU's devices other than VFIO come to kilobytes, not megabytes). */
const MAX_KEPT_BYTES = 64 * 1024 * 1024;

interface KeptDevice {
  idstr: string;
  instance: number;
  offset: number;
  data: Uint8Array;
}

export class DevicesDescribedRule extends Rule {
  override readonly live = false;
  readonly id = 'devices-described';
  override readonly seesPages = false;
  readonly #instances = new Map<number, number>();
  readonly #kept: KeptDevice[] = [];
  #keptBytes = 0;
  #notKept = 0;
  #checked = 0;
  #devices = 0;
  #chunkedParts = 0;
  #described: Map<string, VmdescDevice> | undefined;

  override observe(ch: RuleChannel, r: CodecRecord): void {
    if (ch.role !== 'main' || this.failed) return;
    const m = r as MainRecord;
    if (m.kind === 'section' && m.sectionType === 'full') this.#instances.set(m.sectionId, m.instanceId ?? 0);
    else if (m.kind === 'device-state') this.#device(ch, m);
    else if (m.kind === 'vmdescription' && isVmdesc(m.description)) this.#description(ch, m.description);
  }

  #device(ch: RuleChannel, m: DeviceStateRecord): void {
    if (m.idstr === DIRTY_BITMAP_IDSTR || m.idstr === BLOCK_MIGRATION_IDSTR) return this.#chunked(ch, m);
    // VFIO sections have a format of their own (decoded as VFIO items), not VMState fields.
    if (isVfioIdstr(m.idstr)) return;
    const instance = this.#instances.get(m.sectionId);
    if (instance === undefined) return; // not a section saved whole
    this.#devices++;
    if (m.vmstate) {
      // Decoded with a description already: only what it left over is to be told.
      this.#checked++;
      if (m.vmstate.consumed !== m.data.length) this.#leftOver(ch, m.idstr, instance, m.offset, m.vmstate.consumed, m.data.length);
      return;
    }
    if (this.#keptBytes + m.data.length > MAX_KEPT_BYTES) {
      this.#notKept++;
      return;
    }
    this.#keptBytes += m.data.length;
    this.#kept.push({ idstr: m.idstr, instance, offset: m.offset, data: Uint8Array.from(m.data) });
  }

  /**
   * The block sections (dirty-bitmap, block) are described by their chunk format, not by the
   * VMDESCRIPTION: QEMU reads chunks until one says EOS and then expects the section footer.
   */
  #chunked(ch: RuleChannel, m: DeviceStateRecord): void {
    this.#chunkedParts++;
    const what = `"${m.idstr}" section ${m.sectionId}`;
    let kinds: string[][];
    try {
      // The decoder has parsed them already; it leaves them off only when they do not parse, and
      // parsing again then says why.
      const chunks = m.dirtyBitmap ?? m.blockMigration ?? (m.idstr === DIRTY_BITMAP_IDSTR ? decodeDirtyBitmapChunks(m.data) : decodeBlockMigrationChunks(m.data));
      kinds = chunks.map((c) => c.kinds);
    } catch (e) {
      if (!isCodecError(e)) throw e;
      return this.fail(`${what}: its chunks do not parse (${e.reason}, at byte ${e.offset} of its data): a destination fails to load it`, ch.name, m.offset + e.offset);
    }
    const eos = kinds.findIndex((k) => k.includes('EOS'));
    if (eos !== kinds.length - 1) {
      const detail = eos < 0 ? 'no chunk says EOS: a destination reads on into the section footer' : `${kinds.length - 1 - eos} chunks after the one that says EOS: a destination stops at EOS and expects the section footer`;
      this.fail(`${what}: ${detail}`, ch.name, m.offset);
    }
  }

  #description(ch: RuleChannel, description: Parameters<typeof indexVmdesc>[0]): void {
    let index: Map<string, VmdescDevice>;
    try {
      index = indexVmdesc(description);
    } catch {
      return; // a malformed description is the decoder's error (BAD_VMDESC), told by `decodes`
    }
    this.#described = index;
    for (const d of this.#kept.splice(0)) {
      const entry = index.get(`${d.idstr}/${d.instance}`);
      if (!entry) continue; // a device the description lacks: sections-known tells
      this.#checked++;
      try {
        const v = decodeVmstate(d.data, entry);
        if (v.consumed !== d.data.length) this.#leftOver(ch, d.idstr, d.instance, d.offset, v.consumed, d.data.length);
      } catch (e) {
        if (!isCodecError(e)) throw e;
        const why = [e.reason, e.expected !== undefined ? `expected ${e.expected}` : '', e.found !== undefined ? `found ${e.found}` : ''].filter(Boolean).join('; ');
        this.fail(`device ${JSON.stringify(d.idstr)} instance ${d.instance}: its ${d.data.length} bytes do not fit the stream's VMDESCRIPTION (${why}, at byte ${e.offset} of its state): a destination fails to load it`, ch.name, d.offset + e.offset);
      }
      if (this.failed) return;
    }
    this.#keptBytes = 0;
  }

  #leftOver(ch: RuleChannel, idstr: string, instance: number, offset: number, consumed: number, length: number): void {
    this.fail(
      `device ${JSON.stringify(idstr)} instance ${instance}: the stream's VMDESCRIPTION accounts for ${consumed} of its ${length} bytes; a destination reads ${consumed} and then expects the section footer`,
      ch.name,
      offset + consumed,
    );
  }

  protected verdict(): RuleResult {
    if (this.facts.mainEnd === undefined) return this.notApplicable('the main stream did not reach QEMU_VM_EOF');
    if (!this.#described && this.#checked === 0) {
      const chunked = this.#chunkedParts ? ` (${this.#chunkedParts} dirty-bitmap/block section parts checked: whole chunks ending in EOS)` : '';
      return this.notApplicable(`no VMDESCRIPTION to hold ${this.#devices} device sections to (postcopy streams carry none)${chunked}`);
    }
    if (this.#notKept > 0) return this.notApplicable(`${this.#notKept} device sections not checked: more than ${MAX_KEPT_BYTES / 1024 / 1024} MiB of device state before the VMDESCRIPTION (${this.#checked} matched it)`);
    const chunked = this.#chunkedParts ? `; ${this.#chunkedParts} dirty-bitmap/block section parts, each whole chunks ending in EOS` : '';
    return this.pass(`${this.#checked} device sections, each exactly as the VMDESCRIPTION describes it${chunked}`);
  }
}
