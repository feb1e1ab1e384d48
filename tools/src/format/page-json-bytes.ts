/**
 * `dump --json`'s PAGE and ZERO lines (most of every stream: 262,000 of a 1 GiB guest's) written
 * straight into bytes from pre-encoded pieces and digits: no string per line, nothing for the
 * garbage collector, no UTF-8 pass. The same text as recordJson (tested record for record).
 */
import type { CodecRecord } from '@migwire/stream-codec';
import type { LineSource } from '../cli-io.js';
import { cachedString, isTemplatePage } from './record-json.js';

const ascii = (s: string): Buffer => Buffer.from(s, 'utf8');
const LENGTH = ascii(',"length":');
const DEPTH = ascii(',"depth":');
const SECTION = ascii(',"sectionId":');
const FLAGS = ascii(',"flags":');
const FILL = ascii(',"fill":');
const CLOSE = ascii('}');

/** Longest decimal a field here can take: 2^53 - 1 has 16 digits, plus a sign. */
const NUMBER_BYTES = 17;
const FIELDS = 7;

/** `select(channel, record)` a page record, then the output has it write its line (LineSource). */
export class PageJsonBytes implements LineSource {
  maxBytes = 0;
  #record: Extract<CodecRecord, { kind: 'ram-page' | 'ram-zero' }> | undefined;
  /** `{"channel":…,"kind":…,"offset":` per channel and kind. */
  readonly #heads = new Map<string, Buffer>();
  /** `,"block":…,"pageOffset":` per block name. */
  readonly #blocks = new Map<string, Buffer>();
  // The pieces of the previous line: runs of pages share channel, kind and block.
  #lastChannel = '';
  #lastKind = '';
  #lastHead: Buffer | undefined;
  #lastBlockName = '';
  #lastBlock: Buffer | undefined;

  /** Make `r` the line to write; false when it is not a page the template fits (write it another way). */
  select(channel: string, r: CodecRecord): boolean {
    if (!isTemplatePage(r)) return false;
    if (this.#lastHead === undefined || channel !== this.#lastChannel || r.kind !== this.#lastKind) {
      this.#lastHead = this.#piece(this.#heads, `${channel}\0${r.kind}`, () => `{"channel":${cachedString(channel)},"kind":"${r.kind}","offset":`);
      this.#lastChannel = channel;
      this.#lastKind = r.kind;
    }
    if (this.#lastBlock === undefined || r.block !== this.#lastBlockName) {
      this.#lastBlock = this.#piece(this.#blocks, r.block, () => `,"block":${cachedString(r.block)},"pageOffset":`);
      this.#lastBlockName = r.block;
    }
    this.#record = r;
    this.maxBytes = this.#lastHead.length + this.#lastBlock.length + FIELDS * NUMBER_BYTES + LENGTH.length + DEPTH.length + SECTION.length + FLAGS.length + FILL.length + CLOSE.length;
    return true;
  }

  writeInto(b: Uint8Array, at: number): number {
    const r = this.#record!;
    at = put(b, at, this.#lastHead!);
    at = int(b, at, r.offset);
    at = int(b, put(b, at, LENGTH), r.length);
    at = int(b, put(b, at, DEPTH), r.depth);
    at = int(b, put(b, at, SECTION), r.sectionId);
    at = int(b, put(b, at, FLAGS), r.flags);
    at = int(b, put(b, at, this.#lastBlock!), r.pageOffset);
    if (r.kind === 'ram-zero') at = int(b, put(b, at, FILL), r.fill);
    return put(b, at, CLOSE);
  }

  /** The record's line as bytes (a copy; tests and one-offs). */
  line(channel: string, r: CodecRecord): Uint8Array | undefined {
    if (!this.select(channel, r)) return undefined;
    const b = new Uint8Array(this.maxBytes);
    return b.subarray(0, this.writeInto(b, 0));
  }

  #piece(cache: Map<string, Buffer>, key: string, text: () => string): Buffer {
    let p = cache.get(key);
    if (!p) {
      p = ascii(text());
      if (cache.size < 1024) cache.set(key, p);
    }
    return p;
  }
}

/** Pieces are a few dozen bytes: a plain loop beats a native copy's call overhead. */
function put(b: Uint8Array, at: number, piece: Buffer): number {
  for (let i = 0; i < piece.length; i++) b[at + i] = piece[i]!;
  return at + piece.length;
}

/** Decimal digits of a safe integer (what the decoder gives for every field written here). */
function int(b: Uint8Array, at: number, v: number): number {
  if (v < 0) {
    b[at++] = 0x2d;
    v = -v;
  }
  let digits = 1;
  for (let n = v; n >= 10; n = Math.floor(n / 10)) digits++;
  const end = at + digits;
  for (let i = end - 1; i >= at; i--) {
    const q = Math.floor(v / 10);
    b[i] = 0x30 + (v - q * 10);
    v = q;
  }
  return end;
}
