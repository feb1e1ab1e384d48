/**
 * Per-page state of a whole migration in typed arrays keyed by page index (one index space over
 * all RAM blocks, in MEM_SIZE order): how often each page was sent and in which rounds. A 1 GiB
 * guest is 262144 pages: a few MiB, whatever the stream's length.
 */

export interface BlockRange {
  name: string;
  /** Index of the block's first page. */
  base: number;
  pages: number;
}

const GROW = 1 << 16;

export class PageTable {
  readonly pageSize: number;
  readonly #blocks = new Map<string, BlockRange>();
  #next = 0;
  sends = new Uint32Array(0);
  firstRound = new Int32Array(0);
  lastRound = new Int32Array(0);
  /** First arrival after POSTCOPY_LISTEN, per channel kind (NaN: none); allocated on first use. */
  postcopyMain: Float64Array | undefined;
  postcopyPreempt: Float64Array | undefined;

  constructor(pageSize: number) {
    this.pageSize = pageSize;
  }

  get blocks(): BlockRange[] {
    return [...this.#blocks.values()];
  }

  get size(): number {
    return this.#next;
  }

  /** Declare a block (MEM_SIZE list); pages of unknown blocks get a range on first sight. */
  addBlock(name: string, usedLength: number): void {
    if (this.#blocks.has(name)) return;
    const pages = Math.max(1, Math.ceil(usedLength / this.pageSize));
    this.#blocks.set(name, { name, base: this.#next, pages });
    this.#next += pages;
    this.#ensure(this.#next);
  }

  /** Page index of `pageOffset` in `block`; -1 for an offset beyond the block's length. */
  index(block: string, pageOffset: number): number {
    let b = this.#blocks.get(block);
    if (!b) {
      // A block the main stream did not list (a lone multifd channel): make room as pages come.
      this.addBlock(block, GROW * this.pageSize);
      b = this.#blocks.get(block)!;
    }
    const p = Math.floor(pageOffset / this.pageSize);
    return p < b.pages ? b.base + p : -1;
  }

  /** Count a precopy send of page `i` in `round`. */
  send(i: number, round: number): void {
    if (this.sends[i] === 0) {
      this.firstRound[i] = round;
      this.lastRound[i] = round;
    } else {
      if (round < this.firstRound[i]!) this.firstRound[i] = round;
      if (round > this.lastRound[i]!) this.lastRound[i] = round;
    }
    this.sends[i]!++;
  }

  /** Note a page's arrival after POSTCOPY_LISTEN (first one kept). */
  postcopyArrival(i: number, via: 'main' | 'postcopy-preempt', x: number): void {
    const arr = via === 'main' ? (this.postcopyMain ??= this.#nanArray()) : (this.postcopyPreempt ??= this.#nanArray());
    if (Number.isNaN(arr[i]!)) arr[i] = x;
  }

  #nanArray(): Float64Array {
    const a = new Float64Array(this.sends.length);
    a.fill(Number.NaN);
    return a;
  }

  #ensure(n: number): void {
    if (n <= this.sends.length) return;
    const cap = Math.max(n, this.sends.length * 2);
    const grow = <T extends Uint32Array | Int32Array | Float64Array>(a: T, make: (n: number) => T, fill?: number): T => {
      const b = make(cap);
      if (fill !== undefined) b.fill(fill);
      b.set(a as never);
      return b;
    };
    this.sends = grow(this.sends, (k) => new Uint32Array(k));
    this.firstRound = grow(this.firstRound, (k) => new Int32Array(k));
    this.lastRound = grow(this.lastRound, (k) => new Int32Array(k));
    if (this.postcopyMain) this.postcopyMain = grow(this.postcopyMain, (k) => new Float64Array(k), Number.NaN);
    if (this.postcopyPreempt) this.postcopyPreempt = grow(this.postcopyPreempt, (k) => new Float64Array(k), Number.NaN);
  }
}
