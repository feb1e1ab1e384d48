/**
 * Incremental decoder for the main migration channel.
 *
 * The main stream has no record lengths, so this is a state machine over a
 * chunk queue: each state waits until the bytes of its next unit are queued,
 * then consumes exactly those bytes. Nothing is re-read from the start, pages
 * are views into the received chunks, and every length field is checked
 * against a limit before anything is held for it. The states' steps live in
 * record-framing.ts, ram-body.ts and device-section.ts; their shared state in state.ts.
 */
import { CodecError, ErrorCode } from '../core/errors.js';
import { stepDevice } from './device-section.js';
import type { MainDecoderOptions, RecordSink } from './options.js';
import { passPageRun, stepMappedSkip, stepRam, stepRamBlock, type PassPageRunOptions, type PassedPageRun } from './ram-body.js';
export { forEachRunEntry, forEachRunRecord } from './ram-body.js';
import type { PageRun } from './page-run.js';
import type { MainRecord, RamBlockInfo } from './records.js';
import { stepHeader, stepRecord } from './record-framing.js';
import { MainDecoderCore, State } from './state.js';
import { RESUMED_SECTION_UNKNOWN } from './resume.js';
import type { Vmdesc } from '../vmstate/description.js';
import { decodeAll } from '../decoder/decode-all.js';

export type { MainDecoderOptions, RamCapabilities, RecordSink } from './options.js';
export type { PassPageRunOptions, PassedPageRun } from './ram-body.js';
export { RESUMED_BLOCK_UNKNOWN, RESUMED_SECTION_UNKNOWN, type ResumeInRam } from './resume.js';

export class MainStreamDecoder {
  readonly #s: MainDecoderCore;

  constructor(options: MainDecoderOptions = {}) {
    this.#s = new MainDecoderCore(options);
  }

  /** Channel name used in errors. */
  get channel(): string {
    return this.#s.channel;
  }

  /** The stream's own VMDESCRIPTION, once decoded. */
  get streamVmdesc(): Vmdesc | undefined {
    return this.#s.streamVmdesc;
  }

  /** Machine type from CONFIGURATION. */
  get machine(): string | undefined {
    return this.#s.machine;
  }

  /** Absolute offset of the next byte the decoder will read. */
  get offset(): number {
    return this.#s.q.offset;
  }

  /** Target page size (the RAM flags live below it). */
  get targetPageSize(): number {
    return this.#s.pageSize;
  }

  /** Bytes received but not yet consumed into a record. */
  get pending(): number {
    return this.#s.q.length;
  }

  /** RAM blocks known so far (from MEM_SIZE or the options). */
  get ramBlocks(): RamBlockInfo[] {
    return [...this.#s.blocks.values()];
  }

  /** Copy the bytes it still holds of chunks written so far (a partial record), so the caller may reuse their memory. */
  ownPending(): void {
    this.#s.q.own();
  }

  /** Feed a chunk; every record completed by it is passed to `sink` in stream order. */
  write(chunk: Uint8Array, sink: RecordSink): void {
    const s = this.#s;
    if (s.error) throw s.error;
    s.q.push(chunk);
    run(s, sink);
  }

  /** No more bytes will come: finish pending lookahead, and fail if the stream stopped mid-record. */
  end(sink: RecordSink): void {
    const s = this.#s;
    if (s.error) throw s.error;
    s.ended = true;
    run(s, sink);
    const clean = s.q.length === 0 && s.frames.length === 0 && (s.state === State.Record || (s.state === State.Ram && s.startState === State.Ram));
    if (!clean) {
      const what = s.q.offset === 0 && s.q.length === 0 ? 'stream is empty' : `stream ends inside ${describeState(s)}`;
      s.fail(ErrorCode.Truncated, what, s.q.offset, 'more bytes', `${s.q.length} bytes`);
    }
  }

  /**
   * Take a run of PAGE/ZERO records found ahead by a PageRunScanner (the decoder's reader then
   * skips its bytes), as if they had been written and decoded: only where that is the same (see
   * passPageRun). Returns the run with its blocks named, or undefined with nothing changed.
   */
  passPageRun(run: PageRun, o: PassPageRunOptions = {}): PassedPageRun | undefined {
    return this.#s.error ? undefined : passPageRun(this.#s, run, o);
  }

  /** Forget everything: the decoder is usable again after an error. */
  reset(): MainStreamDecoder {
    return new MainStreamDecoder(this.#s.options);
  }
}

function describeState(s: MainDecoderCore): string {
  switch (s.state) {
    case State.Header:
      return 'the header';
    case State.Ram:
      return s.sectionId === RESUMED_SECTION_UNKNOWN ? 'the resumed RAM section' : `RAM section ${s.sectionId}`;
    case State.RamBlock:
      return `the MEM_SIZE block list of section ${s.sectionId}`;
    case State.MappedSkip:
      return `the mapped-ram region of block ${s.mappedBlock}`;
    case State.Device:
      return `section ${s.sectionId} (${s.sectionIdstr})`;
    case State.Record:
      return s.frames.length ? 'a PACKAGED stream' : 'a record';
    default:
      return 'a failed stream';
  }
}

/** Step through states while whole units are queued. */
function run(s: MainDecoderCore, sink: RecordSink): void {
  for (;;) {
    let progressed: boolean;
    switch (s.state) {
      case State.Header:
        progressed = stepHeader(s, sink);
        break;
      case State.Record:
        progressed = stepRecord(s, sink);
        break;
      case State.Ram:
        progressed = stepRam(s, sink);
        break;
      case State.RamBlock:
        progressed = stepRamBlock(s, sink);
        break;
      case State.MappedSkip:
        progressed = stepMappedSkip(s, sink);
        break;
      case State.Device:
        progressed = stepDevice(s, sink);
        break;
      default:
        return;
    }
    if (!progressed) return;
  }
}

/** Decode a whole in-memory stream; returns the records and the error that stopped it, if any. */
export function decodeMainStream(bytes: Uint8Array, options: MainDecoderOptions = {}): { records: MainRecord[]; error?: CodecError } {
  return decodeAll(new MainStreamDecoder(options), bytes);
}

