/**
 * The rules that can be judged while bytes flow, for `migwire record --check`:
 * every channel is decoded as it passes through the proxy (headers only: no
 * page is decompressed or copied), and a violation is reported the moment it
 * happens. The rules that need the whole migration (SYNC counts, the last round
 * of every page, unanswered PINGs) run on the finished recording.
 */
import { CodecError, decoderFor, type CodecRecord, type Decoder, type MainRecord } from '@migwire/stream-codec';
import { MultifdPostcopyAssertion, isSyncError } from '@migwire/sync';

export interface LiveViolation {
  rule: string;
  t: number;
  channel: string;
  offset: number;
  detail: string;
}

interface Stream {
  name: string;
  decoder: Decoder;
  failed: boolean;
}

export class LiveChecker {
  private readonly streams = new Map<string, Stream>();
  private readonly roles = new Map<number, { role: string; multifdId?: number }>();
  private readonly postcopy = new MultifdPostcopyAssertion();
  private readonly ids = new Map<number, number>();
  private readonly lastPacket = new Map<string, { num: number; sync: boolean }>();
  private readonly packetOwner = new Map<number, string>();
  private now = 0;
  readonly violations: LiveViolation[] = [];

  constructor(private readonly onViolation: (v: LiveViolation) => void = () => {}) {}

  onRole(connection: number, role: string, multifdId?: number): void {
    this.roles.set(connection, multifdId === undefined ? { role } : { role, multifdId });
  }

  onChunk(connection: number, direction: 'src2dst' | 'dst2src', chunk: Buffer, t: number): void {
    this.now = t;
    const s = this.stream(connection, direction);
    if (!s || s.failed) return;
    try {
      s.decoder.write(chunk, (r) => this.onRecord(s, connection, r));
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      s.failed = true;
      this.violate('decodes', s.name, e.offset, e.message);
    }
  }

  private stream(connection: number, direction: 'src2dst' | 'dst2src'): Stream | undefined {
    const key = `${connection}.${direction}`;
    let s = this.streams.get(key);
    if (s) return s;
    const r = this.roles.get(connection);
    if (!r) return undefined;
    let decoder: Decoder | undefined;
    let name = `conn${String(connection).padStart(2, '0')}`;
    if (direction === 'dst2src') {
      if (r.role !== 'main') return undefined;
      decoder = decoderFor('return-path');
      name = 'return-path';
    } else if (r.role === 'main') {
      decoder = decoderFor('main');
      name = 'main';
    } else if (r.role === 'multifd') {
      name = `multifd ${r.multifdId ?? '?'}`;
      decoder = decoderFor('multifd', { channel: name, omitPayloads: true });
    } else if (r.role === 'postcopy-preempt') {
      name = 'postcopy-preempt';
      decoder = decoderFor('postcopy-preempt');
    }
    if (!decoder) return undefined;
    s = { name, decoder, failed: false };
    this.streams.set(key, s);
    return s;
  }

  private onRecord(s: Stream, connection: number, r: CodecRecord): void {
    if (s.name === 'main') this.postcopy.observeMain(r as MainRecord);
    else if (s.name === 'postcopy-preempt') {
      if (r.kind !== 'ram-page' && r.kind !== 'ram-zero') this.violate('preempt-pages-only', s.name, r.offset, `a ${r.kind} record on the preempt channel`);
    } else if (r.kind === 'multifd-init') {
      const other = this.ids.get(r.channelId);
      if (other !== undefined) this.violate('multifd-channel-ids', s.name, r.offset + 24, `channel id ${r.channelId} already used by connection ${other}`);
      else this.ids.set(r.channelId, connection);
    } else if (r.kind === 'multifd-packet') {
      const prev = this.lastPacket.get(s.name);
      const quirk = prev !== undefined && prev.num === r.packetNum && prev.sync && r.normalPages + r.zeroPages === 0 && r.flags === 0;
      if (prev && r.packetNum <= prev.num && !quirk) this.violate('packet-numbers', s.name, r.offset + 24, `packet #${r.packetNum} after #${prev.num}`);
      const owner = this.packetOwner.get(r.packetNum);
      if (owner !== undefined && owner !== s.name) this.violate('packet-numbers', s.name, r.offset + 24, `packet #${r.packetNum} also on ${owner}`);
      else this.packetOwner.set(r.packetNum, s.name);
      this.lastPacket.set(s.name, { num: r.packetNum, sync: r.sync });
      try {
        this.postcopy.checkPacket(this.roles.get(connection)?.multifdId ?? 0, r);
      } catch (e) {
        if (!isSyncError(e)) throw e;
        this.violate('no-multifd-after-postcopy', s.name, r.offset, `${e.message} (packet #${r.packetNum})`);
      }
    }
  }

  private violate(rule: string, channel: string, offset: number, detail: string): void {
    const v = { rule, t: this.now, channel, offset, detail };
    this.violations.push(v);
    this.onViolation(v);
  }
}
