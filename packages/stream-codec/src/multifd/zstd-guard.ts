/**
 * A check of multifd zstd payloads before they are inflated. fzstd (the inflater) runs a
 * compressed block's sequences without checking them against the block, so a corrupt block can
 * make it loop for seconds. This walks the frame's blocks and decodes each block's sequence
 * codes (no literals, no output): the sequences must stay inside their bitstream and produce at
 * most one block's worth of bytes (RFC 8878), as any zstd decoder requires. The state (frame
 * started, last FSE tables for "repeat" mode) carries across packets, like the stream itself.
 */
import { ErrorCode } from '../core/errors.js';
import { PayloadProblem } from '../core/problem.js';

const MAGIC = 0xfd2fb528;
const BLOCK_MAX = 128 * 1024;

interface FseTable {
  log: number;
  symbol: Uint8Array;
  bits: Uint8Array;
  base: Uint16Array;
}

/** Literal-length and match-length codes: extra bits per code (baselines follow from them). */
const LL_BITS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const ML_BITS = [
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
];
const baselines = (bits: number[], first: number): number[] => {
  const out: number[] = [];
  let v = first;
  for (const b of bits) {
    out.push(v);
    v += 1 << b;
  }
  return out;
};
const LL_BASE = baselines(LL_BITS, 0);
const ML_BASE = baselines(ML_BITS, 3);

/** Predefined distributions (RFC 8878 3.1.1.3.2.2), -1 meaning "less than 1". */
const LL_DEFAULT = [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1];
const ML_DEFAULT = [1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1];
const OF_DEFAULT = [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1];

function bad(message: string): never {
  throw new PayloadProblem(ErrorCode.BadCompressedPayload, `zstd payload is corrupt: ${message}`, 'a well-formed zstd block', message, 0);
}

function highBit(v: number): number {
  return 31 - Math.clz32(v);
}

/** Decoding table from normalised counts (the spreading every FSE decoder does). */
function buildTable(counts: readonly number[], log: number): FseTable {
  const size = 1 << log;
  const symbol = new Uint8Array(size);
  const bits = new Uint8Array(size);
  const base = new Uint16Array(size);
  const next = new Array<number>(counts.length).fill(0);
  let high = size - 1;
  counts.forEach((c, s) => {
    if (c === -1) {
      symbol[high--] = s;
      next[s] = 1;
    } else next[s] = c;
  });
  const step = (size >> 1) + (size >> 3) + 3;
  let pos = 0;
  counts.forEach((c, s) => {
    for (let i = 0; i < c; i++) {
      symbol[pos] = s;
      do pos = (pos + step) & (size - 1);
      while (pos > high);
    }
  });
  if (pos !== 0) bad('FSE table does not spread');
  for (let u = 0; u < size; u++) {
    const s = symbol[u]!;
    const n = next[s]!++;
    const b = log - highBit(n);
    bits[u] = b;
    base[u] = (n << b) - size;
  }
  return { log, symbol, bits, base };
}

const LL_PREDEFINED = buildTable(LL_DEFAULT, 6);
const ML_PREDEFINED = buildTable(ML_DEFAULT, 6);
const OF_PREDEFINED = buildTable(OF_DEFAULT, 5);

/** Forward bit reader (FSE table descriptions). */
class ForwardBits {
  pos: number;
  constructor(private readonly b: Uint8Array, byte: number, private readonly end: number) {
    this.pos = byte * 8;
  }
  read(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++, this.pos++) {
      const byte = this.pos >> 3;
      if (byte >= this.end) bad('FSE table description runs past its block');
      v |= ((this.b[byte]! >> (this.pos & 7)) & 1) << i;
    }
    return v;
  }
  peek(n: number): number {
    const at = this.pos;
    const v = this.read(n);
    this.pos = at;
    return v;
  }
}

/** Read an FSE table description at `at`; returns the table and the byte after it. */
function readTable(b: Uint8Array, at: number, end: number, maxLog: number, maxSymbol: number): [FseTable, number] {
  const r = new ForwardBits(b, at, end);
  const log = r.read(4) + 5;
  if (log > maxLog) bad(`accuracy log ${log} beyond ${maxLog}`);
  let remaining = (1 << log) + 1;
  let threshold = 1 << log;
  let nbBits = log + 1;
  const counts: number[] = [];
  while (remaining > 1) {
    if (counts.length > maxSymbol) bad('FSE table has too many symbols');
    const max = 2 * threshold - 1 - remaining;
    let value: number;
    const low = r.peek(nbBits - 1);
    if (low < max) {
      value = low;
      r.pos += nbBits - 1;
    } else {
      value = r.read(nbBits);
      if (value >= threshold) value -= max;
    }
    const count = value - 1;
    remaining -= count < 0 ? -count : count;
    counts.push(count);
    if (count === 0) {
      for (;;) {
        const rep = r.read(2);
        for (let i = 0; i < rep; i++) counts.push(0);
        if (rep !== 3) break;
      }
    }
    while (remaining < threshold && threshold > 1) {
      nbBits--;
      threshold >>= 1;
    }
  }
  if (remaining !== 1 || counts.length > maxSymbol + 1) bad('FSE table counts do not add up');
  return [buildTable(counts, log), (r.pos + 7) >> 3];
}

/** Backward bit reader of a sequence bitstream: bits are taken from the end. */
class BackwardBits {
  private pos: number;
  constructor(private readonly b: Uint8Array, private readonly start: number, end: number) {
    const last = b[end - 1]!;
    if (end <= start || last === 0) bad('sequence bitstream has no end marker');
    this.pos = (end - 1 - start) * 8 + highBit(last);
  }
  read(n: number): number {
    if (n === 0) return 0;
    this.pos -= n;
    if (this.pos < 0) bad('sequences run past their bitstream');
    let v = 0;
    for (let i = n - 1; i >= 0; i--) {
      const p = this.pos + i;
      v = v * 2 + ((this.b[this.start + (p >> 3)]! >> (p & 7)) & 1);
    }
    return v;
  }
  get left(): number {
    return this.pos;
  }
}

export class ZstdGuard {
  private inFrame = false;
  private checksum = false;
  private tables: [FseTable, FseTable, FseTable] | undefined;
  /** Most bits left over after a block's sequences (0 for valid streams; tests look at it). */
  maxLeftoverBits = 0;
  /** Compressed blocks whose sequences were checked. */
  blocksChecked = 0;

  /** Throws PayloadProblem (BAD_COMPRESSED_PAYLOAD) when a block of `p` is malformed. */
  check(p: Uint8Array): void {
    let at = 0;
    while (at < p.length) {
      if (!this.inFrame) {
        if (p.length - at < 6) bad('frame header cut short');
        const magic = (p[at]! | (p[at + 1]! << 8) | (p[at + 2]! << 16) | (p[at + 3]! << 24)) >>> 0;
        if (magic !== MAGIC) bad('no zstd frame magic');
        const fhd = p[at + 4]!;
        const single = (fhd >> 5) & 1;
        const fcs = [single ? 1 : 0, 2, 4, 8][fhd >> 6]!;
        const dict = [0, 1, 2, 4][fhd & 3]!;
        this.checksum = ((fhd >> 2) & 1) === 1;
        at += 5 + (single ? 0 : 1) + dict + fcs;
        this.inFrame = true;
        this.tables = undefined;
        continue;
      }
      if (p.length - at < 3) bad('block header cut short');
      const h = p[at]! | (p[at + 1]! << 8) | (p[at + 2]! << 16);
      const last = h & 1;
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      at += 3;
      if (type === 3) bad('reserved block type');
      if (size > BLOCK_MAX) bad(`block of ${size} bytes`);
      const body = type === 1 ? 1 : size;
      if (at + body > p.length) bad('payload ends inside a block');
      if (type === 2) this.compressedBlock(p, at, at + size);
      at += body;
      if (last) {
        if (this.checksum) at += 4;
        this.inFrame = false;
      }
    }
  }

  private compressedBlock(p: Uint8Array, start: number, end: number): void {
    let at = start;
    const b0 = p[at]!;
    const litType = b0 & 3;
    const sf = (b0 >> 2) & 3;
    let litBytes: number;
    if (litType < 2) {
      let regen: number;
      if ((sf & 1) === 0) {
        regen = b0 >> 3;
        at += 1;
      } else if (sf === 1) {
        regen = (b0 >> 4) + (p[at + 1]! << 4);
        at += 2;
      } else {
        regen = (b0 >> 4) + (p[at + 1]! << 4) + (p[at + 2]! << 12);
        at += 3;
      }
      litBytes = litType === 0 ? regen : 1;
    } else {
      const head = [3, 3, 4, 5][sf]!;
      const sizeBits = [10, 10, 14, 18][sf]!;
      let v = 0;
      for (let i = head - 1; i >= 0; i--) v = v * 256 + p[at + i]!;
      const comp = Math.floor(v / 2 ** (4 + sizeBits)) % 2 ** sizeBits;
      litBytes = comp;
      at += head;
    }
    at += litBytes;
    if (at > end) bad('literals run past their block');
    if (at === end) bad('block has no sequences section');
    let n = p[at++]!;
    if (n === 0) return;
    if (n === 255) {
      if (at + 2 > end) bad('sequence count cut short');
      n = p[at]! + (p[at + 1]! << 8) + 0x7f00;
      at += 2;
    } else if (n >= 128) {
      if (at + 1 > end) bad('sequence count cut short');
      n = ((n - 128) << 8) + p[at++]!;
    }
    if (at >= end) bad('sequence modes missing');
    const modes = p[at++]!;
    if (modes & 3) bad('reserved sequence mode bits set');
    const pick = (mode: number, predefined: FseTable, maxLog: number, maxSymbol: number, prev: FseTable | undefined): FseTable => {
      switch (mode) {
        case 0:
          return predefined;
        case 1: {
          if (at >= end) bad('RLE symbol missing');
          const s = p[at++]!;
          if (s > maxSymbol) bad('RLE symbol out of range');
          return { log: 0, symbol: Uint8Array.of(s), bits: Uint8Array.of(0), base: Uint16Array.of(0) };
        }
        case 2: {
          const [t, next] = readTable(p, at, end, maxLog, maxSymbol);
          at = next;
          return t;
        }
        default:
          if (!prev) bad('repeat mode with no previous table');
          return prev;
      }
    };
    const prev = this.tables;
    const ll = pick(modes >> 6, LL_PREDEFINED, 9, 35, prev?.[0]);
    const of = pick((modes >> 4) & 3, OF_PREDEFINED, 8, 31, prev?.[1]);
    const ml = pick((modes >> 2) & 3, ML_PREDEFINED, 9, 52, prev?.[2]);
    this.tables = [ll, of, ml];
    if (at > end) bad('sequence tables run past their block');
    const r = new BackwardBits(p, at, end);
    let sLL = r.read(ll.log);
    let sOF = r.read(of.log);
    let sML = r.read(ml.log);
    let produced = 0;
    for (let i = 0; i < n; i++) {
      const ofCode = of.symbol[sOF]!;
      const mlCode = ml.symbol[sML]!;
      const llCode = ll.symbol[sLL]!;
      if (ofCode > 31 || mlCode > 52 || llCode > 35) bad('sequence code out of range');
      r.read(ofCode);
      const mlen = ML_BASE[mlCode]! + r.read(ML_BITS[mlCode]!);
      const llen = LL_BASE[llCode]! + r.read(LL_BITS[llCode]!);
      produced += mlen + llen;
      if (produced > BLOCK_MAX) bad('sequences produce more than a block');
      if (i + 1 < n) {
        sLL = ll.base[sLL]! + r.read(ll.bits[sLL]!);
        sML = ml.base[sML]! + r.read(ml.bits[sML]!);
        sOF = of.base[sOF]! + r.read(of.bits[sOF]!);
      }
    }
    this.blocksChecked++;
    if (r.left > this.maxLeftoverBits) this.maxLeftoverBits = r.left;
  }
}
