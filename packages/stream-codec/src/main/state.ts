/**
 * What the main-channel decoder knows between chunks, shared by the modules that decode each part
 * of the stream (record framing, RAM section bodies, device sections). Internal to the decoder.
 */
import { ChunkQueue } from '../core/chunk-queue.js';
import { DEFAULT_TARGET_PAGE_SIZE } from '../core/constants.js';
import { CodecError, ErrorCode } from '../core/errors.js';
import { resolveLimits, type DecoderLimits } from '../core/limits.js';
import { PayloadProblem } from '../core/problem.js';
import { checkVmdesc, indexVmdesc, type Vmdesc, type VmdescDevice } from '../vmstate/description.js';
import type { MainDecoderOptions, RamCapabilities } from './options.js';
import type { RamBlockInfo } from './records.js';
import { learnResumedSection, RESUMED_SECTION_UNKNOWN } from './resume.js';

/** What the next bytes are. */
export enum State {
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

export class MainDecoderCore {
  readonly channel: string;
  readonly q = new ChunkQueue();
  readonly limits: DecoderLimits;
  readonly pageSize: number;
  readonly flagMask: number;
  readonly startState: State;
  /** Decoding began at a RAM record found mid-way (options.resumeInRam). */
  readonly resumed: boolean;
  /** The resumed RAM section's id, once learnt. */
  resumedSection = RESUMED_SECTION_UNKNOWN;
  state: State;
  error: CodecError | undefined;
  ended = false;
  frames: Frame[] = [];
  // Sections
  readonly sections = new Map<number, string>();
  sectionId = 0;
  sectionIdstr = '';
  footerFor = -1;
  /** What the top-level stream allows after QEMU_VM_EOF: a VMDESCRIPTION, then nothing. */
  afterEof: 'open' | 'eof' | 'vmdesc' = 'open';
  // RAM
  readonly blocks = new Map<string, RamBlockInfo>();
  blocksKnown = false;
  lastBlock: string | undefined;
  memSizeLeft = 0;
  memSizeCount = 0;
  mappedLeft = 0;
  mappedBlock = '';
  // Device sections
  deviceScanFrom = 0;
  /** Where the section's footer seemed to be but its description lists more bytes (absolute), if anywhere. */
  deviceShortFooter: number | undefined;
  deviceInstance: number | undefined;
  caps: RamCapabilities;
  readonly capsFixed: boolean;
  vmdescIndex: Map<string, VmdescDevice> | undefined;
  /** The stream's own VMDESCRIPTION, once decoded. */
  streamVmdesc: Vmdesc | undefined;
  /** Machine type from CONFIGURATION. */
  machine: string | undefined;

  constructor(readonly options: MainDecoderOptions) {
    this.channel = options.channel ?? 'main';
    this.limits = resolveLimits(options.limits);
    this.pageSize = options.targetPageSize ?? DEFAULT_TARGET_PAGE_SIZE;
    this.flagMask = this.pageSize - 1;
    this.resumed = options.resumeInRam !== undefined;
    // A resumed stream goes on like a whole one (records after its RAM section): only its first state differs.
    this.startState = this.resumed || options.start === 'records' ? State.Record : options.start === 'ram' ? State.Ram : State.Header;
    this.state = this.resumed ? State.Ram : this.startState;
    if (this.resumed) {
      this.sectionId = RESUMED_SECTION_UNKNOWN;
      this.sectionIdstr = 'ram';
    }
    this.caps = { ...options.capabilities };
    this.capsFixed = options.capabilities !== undefined;
    if (options.vmdesc) this.useGivenVmdesc(options.vmdesc);
    if (options.ramBlocks) for (const b of options.ramBlocks) this.addBlock(b);
    const known = options.resumeInRam?.sectionId;
    if (known !== undefined) learnResumedSection(this, known);
  }

  /**
   * A malformed `vmdesc` option is the decoder's first error, raised by the first write or end
   * (so decodeMainStream returns it like any other), at byte 0: it has no place in the stream.
   */
  private useGivenVmdesc(vmdesc: Vmdesc): void {
    try {
      checkVmdesc(vmdesc, 'the vmdesc option');
      this.vmdescIndex = indexVmdesc(vmdesc);
    } catch (e) {
      if (!(e instanceof PayloadProblem)) throw e;
      this.setError(e.code, e.message, 0, e.expected, e.found);
    }
  }

  fail(code: ErrorCode, message: string, offset: number, expected?: string, found?: string): never {
    throw this.setError(code, message, offset, expected, found);
  }

  private setError(code: ErrorCode, message: string, offset: number, expected?: string, found?: string): CodecError {
    const d: ConstructorParameters<typeof CodecError>[0] = { code, channel: this.channel, role: this.startState === State.Ram ? 'postcopy-preempt' : 'main', offset, message };
    if (expected !== undefined) d.expected = expected;
    if (found !== undefined) d.found = found;
    this.error = new CodecError(d);
    this.state = State.Failed;
    return this.error;
  }

  failProblem(p: PayloadProblem, base: number): never {
    this.fail(p.code, p.message, base + p.at, p.expected, p.found);
  }

  /** Bytes left before the innermost PACKAGED stream ends (Infinity at top level). */
  frameLeft(): number {
    // Checked first: reading past the end of an empty array is a slow path in V8, and this runs per record.
    const n = this.frames.length;
    return n === 0 ? Infinity : this.frames[n - 1]!.end - this.q.offset;
  }

  checkFrame(need: number): void {
    if (need > this.frameLeft()) {
      this.fail(ErrorCode.PackageOverrun, 'record runs past the end of its PACKAGED stream', this.q.offset, `<= ${this.frameLeft()} bytes`, `${need} bytes`);
    }
  }

  addBlock(b: RamBlockInfo): void {
    this.blocks.set(b.name, b);
    this.blocksKnown = true;
  }
}
