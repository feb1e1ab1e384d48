/**
 * Per-page state in flat typed arrays, one table per RAM block, indexed by page number
 * (offset / 4 KiB) and grown by doubling: a few dozen bytes per guest page, nothing per record.
 * Pages past MAX_PAGES in a block (a hostile offset) are refused, not allocated.
 */

export const PAGE_SIZE = 4096;
/** 2^24 pages of 4 KiB: 64 GiB per block. */
export const MAX_PAGES = 1 << 24;

type Column = Int32Array | Uint32Array | Uint8Array | Float64Array;
type ColumnKind = 'i32' | 'u32' | 'u8' | 'f64';

function allocate(kind: ColumnKind, n: number, fill: number): Column {
  const c = kind === 'i32' ? new Int32Array(n) : kind === 'u32' ? new Uint32Array(n) : kind === 'u8' ? new Uint8Array(n) : new Float64Array(n);
  if (fill !== 0) c.fill(fill);
  return c;
}

/** Columns of one block; `C` names them and gives each its kind and initial value. */
export class BlockPages<C extends Record<string, [ColumnKind, number]>> {
  #capacity = 0;
  /** Highest page index used + 1. */
  length = 0;
  readonly columns = {} as { [K in keyof C]: C[K][0] extends 'f64' ? Float64Array : C[K][0] extends 'i32' ? Int32Array : C[K][0] extends 'u32' ? Uint32Array : Uint8Array };

  constructor(private readonly spec: C) {
    this.#grow(64);
  }

  /** Page index for a byte offset, with room made for it; undefined beyond MAX_PAGES. */
  index(offset: number): number | undefined {
    const i = Math.floor(offset / PAGE_SIZE);
    if (!(i >= 0 && i < MAX_PAGES)) return undefined;
    if (i >= this.#capacity) this.#grow(Math.min(MAX_PAGES, Math.max(this.#capacity * 2, i + 1)));
    if (i >= this.length) this.length = i + 1;
    return i;
  }

  /** Bytes held (for memory bounds in tests and reports). */
  get bytes(): number {
    let n = 0;
    for (const k in this.columns) n += (this.columns[k] as Column).byteLength;
    return n;
  }

  #grow(n: number): void {
    for (const k in this.spec) {
      const [kind, fill] = this.spec[k]!;
      const next = allocate(kind, n, fill);
      const old = this.columns[k] as Column | undefined;
      if (old) (next as Float64Array).set(old as Float64Array);
      (this.columns as Record<string, Column>)[k] = next;
    }
    this.#capacity = n;
  }
}

/** Block name -> its table. */
export class PageTable<C extends Record<string, [ColumnKind, number]>> {
  readonly blocks = new Map<string, BlockPages<C>>();

  constructor(private readonly spec: C) {}

  block(name: string): BlockPages<C> {
    let b = this.blocks.get(name);
    if (!b) this.blocks.set(name, (b = new BlockPages(this.spec)));
    return b;
  }

  get bytes(): number {
    let n = 0;
    for (const b of this.blocks.values()) n += b.bytes;
    return n;
  }
}

/**
 * 32-bit content digest of a page (FNV-1a over 32-bit words): 0 for an all-zero page, never 0
 * otherwise, so a zero page sent as data equals a ZERO record; never UNHASHED. Only round-order
 * needs it.
 */
let scratch = new Uint8Array(4096);

export function pageDigest(b: Uint8Array): number {
  let h = 0x811c9dc5;
  let nonzero = 0;
  const n = b.length >>> 2;
  // Page data sits at any byte offset in a stream: an unaligned page is copied (one native
  // memcpy) into an aligned scratch buffer, so every page is read as 32-bit words.
  let src = b;
  if (b.byteOffset % 4 !== 0) {
    if (scratch.length < b.length) scratch = new Uint8Array(b.length);
    scratch.set(b);
    src = scratch;
  }
  const words = new Uint32Array(src.buffer, src.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const w = words[i]!;
    nonzero |= w;
    h = Math.imul(h ^ w, 0x01000193);
  }
  for (let i = n * 4; i < b.length; i++) {
    nonzero |= b[i]!;
    h = Math.imul(h ^ b[i]!, 0x01000193);
  }
  if (nonzero === 0) return 0;
  h >>>= 0;
  return h === 0 ? 1 : h === UNHASHED ? UNHASHED - 1 : h;
}

/** Stands for a digest not taken (no other channel could race the copy): equal to none. */
export const UNHASHED = 0xffffffff;
