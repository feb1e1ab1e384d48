/**
 * What a migration's channels and records show of the capabilities it ran with, gathered record
 * by record: the one owner of those readings for `report` (what it says was seen) and for
 * inferDestinationSettings (what a fresh destination needs). Each reading keeps where it was
 * seen, so a caller can say why it concluded what it did.
 */
import { advisesRamPostcopy, DIRTY_BITMAP_IDSTR, packetCompression, type CodecRecord, type MainRecord, type MultifdRecord, type ReturnPathRecord } from '@migwire/stream-codec';

/** Where a reading was seen. */
export interface Evidence {
  channel: string;
  offset: number;
}

export interface EvidenceChannel {
  name: string;
  role: string;
}

export class CapabilityEvidence {
  /** Names of the multifd channels. */
  readonly multifdChannels: string[] = [];
  /** The postcopy-preempt channel, if there is one. */
  preemptChannel: string | undefined;
  /** A channel is TLS-encrypted. */
  tls = false;
  /** POSTCOPY_ADVISE with the RAM arguments: postcopy-ram was on. */
  postcopyAdvise: Evidence | undefined;
  /**
   * dirty-bitmaps was on: a "dirty-bitmap" section, or a POSTCOPY_ADVISE without RAM arguments
   * (QEMU sends ADVISE when either capability is on, empty when only dirty-bitmaps is).
   */
  dirtyBitmaps: Evidence | undefined;
  openReturnPath: Evidence | undefined;
  /** The first record decoded on the return path. */
  returnPathRecord: Evidence | undefined;
  switchoverAck: Evidence | undefined;
  /** The method of the first multifd packet that shows one (a packet with pages). */
  multifdCompression: { method: string; at: Evidence } | undefined;
  /** A packet's method where none showed one (page-less packets leave the flag off: 'none'). */
  multifdCompressionUnshown: string | undefined;

  /** A channel of the migration, before or while its records come. */
  channel(ch: EvidenceChannel): void {
    if (ch.role === 'multifd' && !this.multifdChannels.includes(ch.name)) this.multifdChannels.push(ch.name);
    if (ch.role === 'postcopy-preempt') this.preemptChannel ??= ch.name;
    if (ch.role === 'tls' || ch.role === 'main(tls)' || ch.role === 'multifd(tls)') this.tls = true;
  }

  observe(ch: EvidenceChannel, r: CodecRecord): void {
    // Called for every record (report's pass): nothing is made unless a reading is taken.
    if (ch.role === 'main') {
      const m = r as MainRecord;
      if (m.kind === 'section' && m.idstr === DIRTY_BITMAP_IDSTR) this.dirtyBitmaps ??= { channel: ch.name, offset: r.offset };
      if (m.kind !== 'command') return;
      if (m.args.command === 'POSTCOPY_ADVISE') {
        if (advisesRamPostcopy(m.args)) this.postcopyAdvise ??= { channel: ch.name, offset: r.offset };
        else this.dirtyBitmaps ??= { channel: ch.name, offset: r.offset };
      } else if (m.args.command === 'OPEN_RETURN_PATH') this.openReturnPath ??= { channel: ch.name, offset: r.offset };
    } else if (ch.role === 'multifd') {
      const m = r as MultifdRecord;
      if (m.kind !== 'multifd-packet' || this.multifdCompression) return;
      const method = packetCompression(m);
      if (method) this.multifdCompression = { method, at: { channel: ch.name, offset: r.offset } };
      else this.multifdCompressionUnshown ??= m.compression;
    } else if (ch.role === 'return-path') {
      const m = r as ReturnPathRecord;
      this.returnPathRecord ??= { channel: ch.name, offset: r.offset };
      if (m.kind === 'rp-message' && m.args.message === 'SWITCHOVER_ACK') this.switchoverAck ??= { channel: ch.name, offset: r.offset };
    }
  }
}
