/**
 * Incremental decoder for the main migration channel.
 *
 * The main stream has no record lengths, so this is a state machine over a
 * chunk queue: each state waits until the bytes of its next unit are queued,
 * then consumes exactly those bytes. Nothing is re-read from the start, pages
 * are views into the received chunks, and every length field is checked
 * against a limit before anything is held for it.
 */
import { ChunkQueue } from '../core/chunk-queue.js';
import {
  Command,
  COMMAND_NAMES,
  ENCODING_FLAG_XBZRLE,
  QEMU_VM_FILE_MAGIC,
  QEMU_VM_FILE_VERSION,
  RamFlag,
  RecordType,
} from '../core/constants.js';
import { CodecError, ErrorCode, hex } from '../core/errors.js';
import { PayloadProblem } from '../core/problem.js';
import { bytesToLatin1, isPrintableAscii, readU32, readU64, utf8 } from '../core/bytes.js';
import { decodeCommandArgs } from './commands.js';
import { parseConfigurationSubsection, type ConfigurationSubsection } from './configuration.js';
import { resolveLimits, type DecoderLimits } from '../core/limits.js';
import type { MainRecord, MappedRamHeader, RamBlockInfo, SectionType } from './records.js';
import { decodeVmstate, indexVmdesc, isVmdesc, type Vmdesc, type VmdescDevice } from '../vmstate/vmdesc.js';
import { decodeVfioItems, isVfioIdstr } from '../vfio/vfio.js';

export type RecordSink = (record: MainRecord) => void;

export interface RamCapabilities {
  /** Blocks carry a be64 page size when postcopy-ram is on and their page size differs from the host's. */
  postcopyRam?: boolean;
  /** Blocks carry a be64 guest address (x-ignore-shared). */
  ignoreShared?: boolean;
  /** Blocks carry a mapped-ram header, and the file skips to the end of each block's page region. */
  mappedRam?: boolean;
}

export interface MainDecoderOptions {
  /** Channel name used in errors. Default "main". */
  channel?: string;
  /**
   * Where the bytes start: "header" (a whole stream, QEVM first), "records"
   * (records with no header, e.g. a PACKAGED payload), or "ram" (bare RAM
   * records: the postcopy-preempt channel).
   */
  start?: 'header' | 'records' | 'ram';
  /** Target page size (flags live below it). Default 4096 (x86). */
  targetPageSize?: number;
  /** Device descriptions to decode VMState fields with, before the stream's own trailer arrives. */
  vmdesc?: Vmdesc;
  /** RAM blocks known from elsewhere (the main channel, for a preempt channel). */
  ramBlocks?: RamBlockInfo[];
  /** Per-block extras in MEM_SIZE; by default taken from the CONFIGURATION capabilities. */
  capabilities?: RamCapabilities;
  /** Page size of a block, for the postcopy-ram extra (blocks backed by huge pages). */
  blockPageSize?: (block: string) => number | undefined;
  /** Host page size the postcopy-ram extra is compared with. Default 4096. */
  hostPageSize?: number;
  limits?: Partial<DecoderLimits>;
}

const enum State {
  Header,
  Record,
  Ram,
  RamBlock,
  MappedSkip,
  Device,
  Failed,
}

interface Frame {
  /** Absolute offset where the nested PACKAGED stream ends. */
  end: number;
}

export class MainStreamDecoder {
  readonly channel: string;
  private readonly q = new ChunkQueue();
  private readonly limits: DecoderLimits;
  private readonly pageSize: number;
  private readonly flagMask: number;
  private readonly startState: State;
  private state: State;
  private error: CodecError | undefined;
  private ended = false;
  private frames: Frame[] = [];

  private readonly sections = new Map<number, string>();
  private sectionId = 0;
  private sectionIdstr = '';
  private footerFor = -1;

  private readonly blocks = new Map<string, RamBlockInfo>();
  private blocksKnown = false;
  private lastBlock: string | undefined;
  private memSizeLeft = 0;
  private memSizeCount = 0;
  private mappedLeft = 0;
  private mappedBlock = '';

  private deviceScanFrom = 0;
  private caps: RamCapabilities;
  private readonly capsFixed: boolean;
  private vmdescIndex: Map<string, VmdescDevice> | undefined;
  private readonly options: MainDecoderOptions;

  /** The stream's own VMDESCRIPTION, once decoded. */
  streamVmdesc: Vmdesc | undefined;
  /** Machine type from CONFIGURATION. */
  machine: string | undefined;

  constructor(options: MainDecoderOptions = {}) {
    this.options = options;
    this.channel = options.channel ?? 'main';
    this.limits = resolveLimits(options.limits);
    this.pageSize = options.targetPageSize ?? 4096;
    this.flagMask = this.pageSize - 1;
    this.startState = options.start === 'ram' ? State.Ram : options.start === 'records' ? State.Record : State.Header;
    this.state = this.startState;
    this.caps = { ...options.capabilities };
    this.capsFixed = options.capabilities !== undefined;
    if (options.vmdesc) this.vmdescIndex = indexVmdesc(options.vmdesc);
    if (options.ramBlocks) for (const b of options.ramBlocks) this.addBlock(b);
  }

  /** Absolute offset of the next byte the decoder will read. */
  get offset(): number {
    return this.q.offset;
  }

  /** Bytes received but not yet consumed into a record. */
  get pending(): number {
    return this.q.length;
  }

  /** RAM blocks known so far (from MEM_SIZE or the options). */
  get ramBlocks(): RamBlockInfo[] {
    return [...this.blocks.values()];
  }

  /** Feed a chunk; every record completed by it is passed to `sink` in stream order. */
  write(chunk: Uint8Array, sink: RecordSink): void {
    if (this.error) throw this.error;
    this.q.push(chunk);
    this.run(sink);
  }

  /** No more bytes will come: finish pending lookahead, and fail if the stream stopped mid-record. */
  end(sink: RecordSink): void {
    if (this.error) throw this.error;
    this.ended = true;
    this.run(sink);
    const clean =
      this.q.length === 0 &&
      this.frames.length === 0 &&
      (this.state === State.Record || (this.state === State.Ram && this.startState === State.Ram));
    if (!clean) {
      const what = this.q.offset === 0 && this.q.length === 0 ? 'stream is empty' : `stream ends inside ${this.describeState()}`;
      this.fail(ErrorCode.Truncated, what, this.q.offset, 'more bytes', `${this.q.length} bytes`);
    }
  }

  /** Forget everything: the decoder is usable again after an error. */
  reset(): MainStreamDecoder {
    return new MainStreamDecoder(this.options);
  }

  private describeState(): string {
    switch (this.state) {
      case State.Header:
        return 'the header';
      case State.Ram:
        return `RAM section ${this.sectionId}`;
      case State.RamBlock:
        return `the MEM_SIZE block list of section ${this.sectionId}`;
      case State.MappedSkip:
        return `the mapped-ram region of block ${this.mappedBlock}`;
      case State.Device:
        return `section ${this.sectionId} (${this.sectionIdstr})`;
      case State.Record:
        return this.frames.length ? 'a PACKAGED stream' : 'a record';
      default:
        return 'a failed stream';
    }
  }

  private fail(code: ErrorCode, message: string, offset: number, expected?: string, found?: string): never {
    const d: ConstructorParameters<typeof CodecError>[0] = { code, channel: this.channel, role: this.startState === State.Ram ? 'postcopy-preempt' : 'main', offset, message };
    if (expected !== undefined) d.expected = expected;
    if (found !== undefined) d.found = found;
    this.error = new CodecError(d);
    this.state = State.Failed;
    throw this.error;
  }

  private failProblem(p: PayloadProblem, base: number): never {
    this.fail(p.code, p.message, base + p.at, p.expected, p.found);
  }

  /** Bytes left before the innermost PACKAGED stream ends (Infinity at top level). */
  private frameLeft(): number {
    const f = this.frames[this.frames.length - 1];
    return f ? f.end - this.q.offset : Infinity;
  }

  private checkFrame(need: number): void {
    if (need > this.frameLeft()) {
      this.fail(ErrorCode.PackageOverrun, 'record runs past the end of its PACKAGED stream', this.q.offset, `<= ${this.frameLeft()} bytes`, `${need} bytes`);
    }
  }

  private run(sink: RecordSink): void {
    for (;;) {
      let progressed: boolean;
      switch (this.state) {
        case State.Header:
          progressed = this.stepHeader(sink);
          break;
        case State.Record:
          progressed = this.stepRecord(sink);
          break;
        case State.Ram:
          progressed = this.stepRam(sink);
          break;
        case State.RamBlock:
          progressed = this.stepRamBlock(sink);
          break;
        case State.MappedSkip:
          progressed = this.stepMappedSkip(sink);
          break;
        case State.Device:
          progressed = this.stepDevice(sink);
          break;
        default:
          return;
      }
      if (!progressed) return;
    }
  }

  private stepHeader(sink: RecordSink): boolean {
    const q = this.q;
    if (q.length < 8) return false;
    const magic = q.u32(0);
    if (magic !== QEMU_VM_FILE_MAGIC) this.fail(ErrorCode.BadMagic, 'not a QEMU migration stream', 0, hex(QEMU_VM_FILE_MAGIC, 8) + ' ("QEVM")', hex(magic, 8));
    const version = q.u32(4);
    if (version !== QEMU_VM_FILE_VERSION) this.fail(ErrorCode.BadVersion, 'unsupported stream version', 4, String(QEMU_VM_FILE_VERSION), String(version));
    q.skip(8);
    sink({ kind: 'header', offset: 0, length: 8, depth: 0, magic, version });
    this.state = State.Record;
    return true;
  }

  private stepRecord(sink: RecordSink): boolean {
    const q = this.q;
    while (this.frames.length && this.frames[this.frames.length - 1]!.end === q.offset) this.frames.pop();
    if (q.length < 1) return false;
    const offset = q.offset;
    const depth = this.frames.length;
    const type = q.byte(0);
    switch (type) {
      case RecordType.Eof:
        q.skip(1);
        this.footerFor = -1;
        sink({ kind: 'eof', offset, length: 1, depth });
        return true;

      case RecordType.SectionStart:
      case RecordType.SectionFull: {
        if (q.length < 6) return false;
        const len = q.byte(5);
        const need = 6 + len + 8;
        this.checkFrame(need);
        if (q.length < need) return false;
        const sectionId = q.u32(1);
        const idstr = bytesToLatin1(q.peek(6, len));
        const instanceId = q.u32(6 + len);
        const versionId = q.u32(10 + len);
        q.skip(need);
        const sectionType: SectionType = type === RecordType.SectionStart ? 'start' : 'full';
        this.sections.set(sectionId, idstr);
        sink({ kind: 'section', offset, length: need, depth, sectionType, sectionId, idstr, instanceId, versionId });
        this.enterSection(sectionId, idstr, instanceId);
        return true;
      }

      case RecordType.SectionPart:
      case RecordType.SectionEnd: {
        this.checkFrame(5);
        if (q.length < 5) return false;
        const sectionId = q.u32(1);
        const idstr = this.sections.get(sectionId);
        if (idstr === undefined) this.fail(ErrorCode.UnknownSection, 'section PART/END for an id no START opened', offset + 1, 'a started section id', String(sectionId));
        q.skip(5);
        const sectionType: SectionType = type === RecordType.SectionPart ? 'part' : 'end';
        sink({ kind: 'section', offset, length: 5, depth, sectionType, sectionId, idstr });
        this.enterSection(sectionId, idstr, undefined);
        return true;
      }

      case RecordType.SectionFooter: {
        this.checkFrame(5);
        if (q.length < 5) return false;
        const sectionId = q.u32(1);
        if (this.footerFor < 0) this.fail(ErrorCode.UnknownRecordType, 'section footer where no section ended', offset, 'a record type', hex(type, 2));
        if (sectionId !== this.footerFor) this.fail(ErrorCode.FooterMismatch, 'section footer names another section', offset + 1, String(this.footerFor), String(sectionId));
        q.skip(5);
        this.footerFor = -1;
        sink({ kind: 'footer', offset, length: 5, depth, sectionId });
        return true;
      }

      case RecordType.VmDescription: {
        if (q.length < 5) return false;
        const len = q.u32(1);
        if (len > this.limits.maxVmdescBytes) this.fail(ErrorCode.LimitExceeded, 'VMDESCRIPTION longer than maxVmdescBytes', offset + 1, `<= ${this.limits.maxVmdescBytes}`, String(len));
        this.checkFrame(5 + len);
        if (q.length < 5 + len) return false;
        q.skip(5);
        const json = q.take(len);
        let description: unknown;
        try {
          description = JSON.parse(utf8(json));
        } catch {
          this.fail(ErrorCode.BadVmdesc, 'VMDESCRIPTION is not valid JSON', offset + 5, 'JSON', 'unparsable text');
        }
        if (isVmdesc(description)) {
          this.streamVmdesc = description;
          if (!this.vmdescIndex) this.vmdescIndex = indexVmdesc(description);
        }
        this.footerFor = -1;
        sink({ kind: 'vmdescription', offset, length: 5 + len, depth, json, description });
        return true;
      }

      case RecordType.Configuration:
        return this.stepConfiguration(sink, offset, depth);

      case RecordType.Command: {
        this.checkFrame(5);
        if (q.length < 5) return false;
        const command = q.u16(1);
        const len = q.u16(3);
        this.checkFrame(5 + len);
        if (q.length < 5 + len) return false;
        const name = COMMAND_NAMES[command];
        if (name === undefined) this.fail(ErrorCode.UnknownCommand, 'unknown command', offset + 1, '1..11', String(command));
        const payload = q.peek(5, len);
        let args;
        try {
          args = decodeCommandArgs(command, payload);
        } catch (e) {
          if (e instanceof PayloadProblem) this.failProblem(e, offset + 5);
          throw e;
        }
        if (args.command === 'PACKAGED') {
          if (args.length > this.limits.maxPackagedBytes) this.fail(ErrorCode.LimitExceeded, 'PACKAGED length beyond maxPackagedBytes', offset + 5, `<= ${this.limits.maxPackagedBytes}`, String(args.length));
          this.checkFrame(5 + len + args.length);
        }
        if (args.command === 'POSTCOPY_ADVISE' && args.pageSizeSummary !== undefined && !this.capsFixed) this.caps.postcopyRam = true;
        q.skip(5 + len);
        this.footerFor = -1;
        sink({ kind: 'command', offset, length: 5 + len, depth, command, name, payload, args });
        if (args.command === 'PACKAGED' && command === Command.Packaged) this.frames.push({ end: q.offset + args.length });
        return true;
      }

      default:
        this.fail(ErrorCode.UnknownRecordType, 'unknown record type', offset, '0x00-0x08 or 0x7e', hex(type, 2));
    }
  }

  private stepConfiguration(sink: RecordSink, offset: number, depth: number): boolean {
    const q = this.q;
    if (q.length < 5) return false;
    const len = q.u32(1);
    if (len > this.limits.maxConfigurationNameBytes) this.fail(ErrorCode.LimitExceeded, 'CONFIGURATION machine name beyond maxConfigurationNameBytes', offset + 1, `<= ${this.limits.maxConfigurationNameBytes}`, String(len));
    let at = 5 + len;
    if (q.length < at) return false;
    // Subsections (0x05 ...) may follow the name; one byte of lookahead tells.
    const subs: ConfigurationSubsection[] = [];
    for (;;) {
      if (q.length <= at) {
        if (!this.ended) return false;
        break;
      }
      if (q.byte(at) !== RecordType.Subsection) break;
      const base = at;
      let r;
      try {
        r = parseConfigurationSubsection((i) => q.byte(base + i), q.length - base);
      } catch (e) {
        if (e instanceof PayloadProblem) this.failProblem(e, offset + base);
        throw e;
      }
      if ('need' in r) {
        if (this.ended) this.fail(ErrorCode.Truncated, 'stream ends inside a configuration subsection', offset + base, `${r.need} bytes`, `${q.length - base} bytes`);
        return false;
      }
      subs.push(r.sub);
      at += r.length;
    }
    const machine = bytesToLatin1(q.peek(5, len));
    q.skip(at);
    this.machine = machine;
    for (const s of subs) {
      if (s.name === 'configuration/capabilities' && !this.capsFixed) {
        this.caps.ignoreShared = s.capabilities.includes('x-ignore-shared');
        this.caps.mappedRam = s.capabilities.includes('mapped-ram');
      }
    }
    sink({ kind: 'configuration', offset, length: at, depth, machine, subsections: subs });
    return true;
  }

  private enterSection(sectionId: number, idstr: string, _instanceId: number | undefined): void {
    this.sectionId = sectionId;
    this.sectionIdstr = idstr;
    this.footerFor = -1;
    if (idstr === 'ram') {
      this.state = State.Ram;
    } else {
      this.state = State.Device;
      this.deviceScanFrom = 0;
      this.deviceInstance = _instanceId;
    }
  }

  private deviceInstance: number | undefined;

  private addBlock(b: RamBlockInfo): void {
    this.blocks.set(b.name, b);
    this.blocksKnown = true;
  }

  // ---- RAM section body -------------------------------------------------

  private stepRam(sink: RecordSink): boolean {
    const q = this.q;
    if (q.length < 8) return false;
    const offset = q.offset;
    const hi = q.u32(0);
    const lo = q.u32(4);
    const flags = lo & this.flagMask;
    if (hi > 0x1fffff) this.fail(ErrorCode.ValueOutOfRange, 'RAM record offset beyond 2^53', offset, '< 2^53', hex(hi, 8) + hex(lo, 8).slice(2));
    const addr = hi * 0x1_0000_0000 + (lo - flags);
    const kind = flags & ~RamFlag.Continue;
    const depth = this.frames.length;
    const sectionId = this.sectionId;

    switch (kind) {
      case RamFlag.Zero:
      case RamFlag.Page:
      case RamFlag.Xbzrle:
      case RamFlag.CompressPage: {
        let head = 8;
        let block: string;
        if (flags & RamFlag.Continue) {
          if (this.lastBlock === undefined) this.fail(ErrorCode.UnknownRamBlock, 'CONTINUE with no previous block', offset, 'a block named earlier in this section', 'none');
          block = this.lastBlock;
        } else {
          if (q.length < 9) return false;
          const len = q.byte(8);
          head = 9 + len;
          if (q.length < head) return false;
          block = bytesToLatin1(q.peek(9, len));
        }
        if (this.blocksKnown) {
          const info = this.blocks.get(block);
          if (!info) this.fail(ErrorCode.UnknownRamBlock, 'RAM record names a block MEM_SIZE did not list', offset + 8, `one of ${[...this.blocks.keys()].join(', ')}`, JSON.stringify(block));
          if (addr >= info.usedLength) this.fail(ErrorCode.RamOffsetBeyondBlock, `RAM offset beyond block ${block}`, offset, `< ${hex(info.usedLength)}`, hex(addr));
        }
        let need: number;
        if (kind === RamFlag.Zero) need = head + 1;
        else if (kind === RamFlag.Page) need = head + this.pageSize;
        else if (kind === RamFlag.Xbzrle) {
          if (q.length < head + 3) return false;
          const enc = q.byte(head);
          if (enc !== ENCODING_FLAG_XBZRLE) this.fail(ErrorCode.BadXbzrle, 'unknown XBZRLE encoding', offset + head, hex(ENCODING_FLAG_XBZRLE, 2), hex(enc, 2));
          const dlen = q.u16(head + 1);
          if (dlen > this.pageSize) this.fail(ErrorCode.BadXbzrle, 'XBZRLE delta longer than a page', offset + head + 1, `<= ${this.pageSize}`, String(dlen));
          need = head + 3 + dlen;
        } else {
          if (q.length < head + 4) return false;
          const clen = q.u32(head);
          const max = this.pageSize * 2 + 64;
          if (clen > max) this.fail(ErrorCode.LimitExceeded, 'compressed page longer than a page can compress to', offset + head, `<= ${max}`, String(clen));
          need = head + 4 + clen;
        }
        this.checkFrame(need);
        if (q.length < need) return false;
        this.lastBlock = block;
        if (kind === RamFlag.Page) {
          q.skip(head);
          const data = q.take(this.pageSize);
          sink({ kind: 'ram-page', offset, length: need, depth, sectionId, flags, block, pageOffset: addr, data });
        } else if (kind === RamFlag.Zero) {
          const fill = q.byte(head);
          q.skip(need);
          sink({ kind: 'ram-zero', offset, length: need, depth, sectionId, flags, block, pageOffset: addr, fill });
        } else if (kind === RamFlag.Xbzrle) {
          const encoding = q.byte(head);
          q.skip(head + 3);
          const delta = q.take(need - head - 3);
          sink({ kind: 'ram-xbzrle', offset, length: need, depth, sectionId, flags, block, pageOffset: addr, encoding, delta });
        } else {
          q.skip(head + 4);
          const data = q.take(need - head - 4);
          sink({ kind: 'ram-compressed', offset, length: need, depth, sectionId, flags, block, pageOffset: addr, data });
        }
        return true;
      }

      case RamFlag.MemSize:
        this.checkFrame(8);
        q.skip(8);
        this.memSizeLeft = addr;
        this.memSizeCount = 0;
        this.blocks.clear();
        this.blocksKnown = true;
        this.lastBlock = undefined;
        sink({ kind: 'ram-mem-size', offset, length: 8, depth, sectionId, flags, totalBytes: addr });
        if (addr > 0) this.state = State.RamBlock;
        return true;

      case RamFlag.Eos:
      case RamFlag.MultifdFlush:
      case RamFlag.Hook:
        this.checkFrame(8);
        q.skip(8);
        sink({ kind: kind === RamFlag.Eos ? 'ram-eos' : kind === RamFlag.Hook ? 'ram-hook' : 'ram-multifd-flush', offset, length: 8, depth, sectionId, flags });
        if (kind === RamFlag.Eos && this.startState !== State.Ram) {
          this.state = State.Record;
          this.footerFor = sectionId;
        }
        return true;

      default:
        this.fail(ErrorCode.UnknownRamFlags, 'unknown combination of RAM flags', offset + 4, 'one of ZERO, PAGE, XBZRLE, MEM_SIZE, EOS, MULTIFD_FLUSH, HOOK (+CONTINUE)', hex(flags, 3));
    }
  }

  /** One entry of the MEM_SIZE block list: u8 len, idstr, be64 used_length, then per-capability extras. */
  private stepRamBlock(sink: RecordSink): boolean {
    const q = this.q;
    if (q.length < 1) return false;
    const offset = q.offset;
    const len = q.byte(0);
    if (q.length < 1 + len) return false;
    const name = bytesToLatin1(q.peek(1, len));
    let need = 1 + len + 8;
    const pageSizeExtra = this.caps.postcopyRam === true && (this.options.blockPageSize?.(name) ?? (this.options.hostPageSize ?? 4096)) !== (this.options.hostPageSize ?? 4096);
    if (pageSizeExtra) need += 8;
    if (this.caps.ignoreShared) need += 8;
    if (this.caps.mappedRam) need += 28;
    this.checkFrame(need);
    if (q.length < need) return false;
    if (++this.memSizeCount > this.limits.maxRamBlocks) this.fail(ErrorCode.LimitExceeded, 'more RAM blocks than maxRamBlocks', offset, `<= ${this.limits.maxRamBlocks}`, String(this.memSizeCount));
    let at = 1 + len;
    if (q.u32(at) > 0x1fffff) this.fail(ErrorCode.ValueOutOfRange, 'RAM block length beyond 2^53', offset + at, '< 2^53', 'larger');
    const usedLength = q.u32(at) * 0x1_0000_0000 + q.u32(at + 4);
    at += 8;
    const info: RamBlockInfo = { name, usedLength };
    if (pageSizeExtra) {
      info.pageSize = q.u32(at) * 0x1_0000_0000 + q.u32(at + 4);
      at += 8;
    }
    if (this.caps.ignoreShared) {
      info.address = q.u32(at) * 0x1_0000_0000 + q.u32(at + 4);
      at += 8;
    }
    let mapped: MappedRamHeader | undefined;
    if (this.caps.mappedRam) {
      const h = q.peek(at, 28);
      mapped = { version: readU32(h, 0), pageSize: readU64(h, 4), bitmapOffset: readU64(h, 12), pagesOffset: readU64(h, 20) };
      info.mappedRam = mapped;
      at += 28;
    }
    q.skip(need);
    if (usedLength > this.memSizeLeft) this.fail(ErrorCode.RamMemSizeMismatch, 'RAM block lengths add up to more than MEM_SIZE', offset + 1 + len, `<= ${this.memSizeLeft} left`, String(usedLength));
    this.memSizeLeft -= usedLength;
    this.addBlock(info);
    sink({ kind: 'ram-block', offset, length: need, depth: this.frames.length, sectionId: this.sectionId, block: info });
    if (mapped) {
      // The file position jumps past the block's page region (the bitmap and pages live there).
      const skip = mapped.pagesOffset + usedLength - q.offset;
      if (mapped.version !== 1 || skip < 0 || skip > this.limits.maxMappedRamRegionBytes || mapped.bitmapOffset < q.offset || mapped.pagesOffset < mapped.bitmapOffset) {
        this.fail(ErrorCode.BadMappedRam, `mapped-ram header of block ${name} is inconsistent`, offset + need - 28, `version 1, bitmap at >= ${q.offset}, pages after bitmap`, `version ${mapped.version}, bitmap ${mapped.bitmapOffset}, pages ${mapped.pagesOffset}`);
      }
      this.mappedLeft = skip;
      this.mappedBlock = name;
      this.state = skip > 0 ? State.MappedSkip : this.memSizeLeft > 0 ? State.RamBlock : State.Ram;
    } else if (this.memSizeLeft === 0) {
      this.state = State.Ram;
    }
    return true;
  }

  private stepMappedSkip(sink: RecordSink): boolean {
    const q = this.q;
    const n = Math.min(this.mappedLeft, q.length);
    if (n === 0) return false;
    for (const data of q.takeViews(n)) {
      sink({ kind: 'mapped-ram-data', offset: q.offset - n, length: data.length, depth: this.frames.length, block: this.mappedBlock, data });
    }
    this.mappedLeft -= n;
    if (this.mappedLeft === 0) this.state = this.memSizeLeft > 0 ? State.RamBlock : State.Ram;
    return true;
  }

  // ---- device sections --------------------------------------------------

  /**
   * A device section's data has no length: it ends at the footer (0x7e + its
   * section id) that is followed by something that can start a record.
   */
  private stepDevice(sink: RecordSink): boolean {
    const q = this.q;
    const id = this.sectionId;
    const frameLeft = this.frameLeft();
    const limit = Math.min(frameLeft, this.limits.maxDeviceSectionBytes);
    let pos = this.deviceScanFrom;
    for (;;) {
      const i = q.indexOf(RecordType.SectionFooter, pos);
      if (i < 0 || i > limit) {
        if (q.length >= frameLeft || q.length > limit || (i > limit && i >= 0)) {
          if (frameLeft <= this.limits.maxDeviceSectionBytes) this.fail(ErrorCode.UnframedSection, `no footer for section ${id} (${this.sectionIdstr}) before its PACKAGED stream ends`, q.offset, `0x7e + ${id}`, 'none');
          this.fail(ErrorCode.LimitExceeded, `section ${id} (${this.sectionIdstr}) longer than maxDeviceSectionBytes without a footer`, q.offset, `<= ${this.limits.maxDeviceSectionBytes} bytes`, 'more');
        }
        this.deviceScanFrom = Math.max(pos, q.length);
        if (this.ended) this.fail(ErrorCode.Truncated, `stream ends inside section ${id} (${this.sectionIdstr})`, q.offset, `0x7e + ${id}`, 'end of stream');
        return false;
      }
      if (i + 5 > q.length) {
        this.deviceScanFrom = i;
        if (this.ended) this.fail(ErrorCode.Truncated, `stream ends inside section ${id} (${this.sectionIdstr})`, q.offset, `0x7e + ${id}`, 'end of stream');
        return false;
      }
      if (q.u32(i + 1) !== id) {
        pos = i + 1;
        continue;
      }
      const v = this.plausibleRecordAt(i + 5, frameLeft);
      if (v === 'need') {
        this.deviceScanFrom = i;
        return false;
      }
      if (v === 'no') {
        pos = i + 1;
        continue;
      }
      const offset = q.offset;
      const data = q.take(i);
      const rec: MainRecord = { kind: 'device-state', offset, length: i, depth: this.frames.length, sectionId: id, idstr: this.sectionIdstr, data };
      this.describeDevice(rec, offset);
      this.state = State.Record;
      this.footerFor = id;
      sink(rec);
      return true;
    }
  }

  private describeDevice(rec: Extract<MainRecord, { kind: 'device-state' }>, _offset: number): void {
    if (isVfioIdstr(rec.idstr)) {
      try {
        rec.vfio = decodeVfioItems(rec.data);
      } catch {
        /* left undecoded: the bytes are still exact */
      }
      return;
    }
    const inst = this.deviceInstance;
    const desc = inst === undefined ? undefined : this.vmdescIndex?.get(`${rec.idstr}/${inst}`);
    if (desc) {
      try {
        rec.vmstate = decodeVmstate(rec.data, desc);
      } catch {
        /* description does not fit these bytes: keep them opaque */
      }
    }
  }

  /** Can a record start at relative index j? 'need' when more bytes would tell. */
  private plausibleRecordAt(j: number, frameLeft: number): 'yes' | 'no' | 'need' {
    const q = this.q;
    if (j === frameLeft) return 'yes';
    const have = (n: number): boolean => j + n <= q.length;
    if (!have(1)) return this.ended ? 'yes' : 'need';
    const t = q.byte(j);
    switch (t) {
      case RecordType.Eof: {
        if (j + 1 === frameLeft) return 'yes';
        if (!have(2)) return this.ended ? 'yes' : 'need';
        const n = q.byte(j + 1);
        return n === RecordType.VmDescription || n === RecordType.Command || n === RecordType.Eof ? 'yes' : 'no';
      }
      case RecordType.SectionStart:
      case RecordType.SectionFull: {
        if (!have(6)) return this.ended ? 'no' : 'need';
        const len = q.byte(j + 5);
        if (len === 0 || q.u32(j + 1) > 0xffffff) return 'no';
        if (!have(6 + len)) return this.ended ? 'no' : 'need';
        return isPrintableAscii(q.peek(j + 6, len), 0, len) ? 'yes' : 'no';
      }
      case RecordType.SectionPart:
      case RecordType.SectionEnd:
        if (!have(5)) return this.ended ? 'no' : 'need';
        return this.sections.has(q.u32(j + 1)) ? 'yes' : 'no';
      case RecordType.VmDescription:
        if (!have(6)) return this.ended ? 'no' : 'need';
        return q.byte(j + 5) === 0x7b ? 'yes' : 'no';
      case RecordType.Command: {
        if (!have(3)) return this.ended ? 'no' : 'need';
        const c = q.u16(j + 1);
        return c >= 1 && c <= 11 ? 'yes' : 'no';
      }
      default:
        return 'no';
    }
  }
}

/** Decode a whole in-memory stream; returns the records and the error that stopped it, if any. */
export function decodeMainStream(bytes: Uint8Array, options: MainDecoderOptions = {}): { records: MainRecord[]; error?: CodecError } {
  const records: MainRecord[] = [];
  const dec = new MainStreamDecoder(options);
  const sink = (r: MainRecord): void => {
    records.push(r);
  };
  try {
    dec.write(bytes, sink);
    dec.end(sink);
  } catch (e) {
    if (e instanceof CodecError) return { records, error: e };
    throw e;
  }
  return { records };
}
