/**
 * Image writes for `extract`: adjacent pages are gathered into runs of up to RUN_BYTES and each run
 * is written with one positioned gathering write (writev: pages that stay valid are written from
 * where they lie, the others copied into the run's arena first), in the background (libuv's pool)
 * while decoding goes on.
 * Runs that do not overlap are written side by side (the pool has threads); one that overlaps a run
 * not yet written waits for all before it, so a page sent twice ends with its last copy. Memory
 * stays flat: at most MAX_QUEUED runs wait, then `ready()` makes the caller wait for the oldest.
 */
import { writev as writevCb } from 'node:fs';

const RUN_BYTES = 1024 * 1024;
/** Pieces per writev (the kernel's IOV_MAX is 1024). */
const MAX_PIECES = 1024;
const MAX_QUEUED = 2;

interface Run {
  fd: number;
  start: number;
  fill: number;
  pieces: Uint8Array[];
  /** Buffers whose views the run writes from (see `inUse`). */
  held: ArrayBufferLike[];
  /** Copies of pages that would not stay valid; allocated on first need. */
  arena: Buffer | undefined;
  arenaFill: number;
}

/** Write the pieces at run.start, resuming after short writes. */
const writeRun = (r: Run): Promise<void> =>
  new Promise((resolve, reject) => {
    let pieces = r.pieces;
    let at = r.start;
    const step = (): void => {
      writevCb(r.fd, pieces, at, (err, n) => {
        if (err) return reject(err);
        at += n;
        if (at === r.start + r.fill) return resolve();
        if (n === 0) return reject(new Error('writev wrote nothing'));
        // Short write: drop what went out.
        let skip = n;
        const rest: Uint8Array[] = [];
        for (const p of pieces) {
          if (skip >= p.length) skip -= p.length;
          else {
            rest.push(skip ? p.subarray(skip) : p);
            skip = 0;
          }
        }
        pieces = rest;
        step();
      });
    };
    step();
  });

export class OrderedWriter {
  private run: Run | undefined;
  /** Runs handed to the pool and not yet written, oldest first. */
  private readonly queued: Array<{ run: Run; done: Promise<void> }> = [];
  private readonly spare: Buffer[] = [];
  /** How many runs not yet written hold views of each buffer. */
  private readonly holds = new Map<ArrayBufferLike, number>();
  private arenaFor(r: Run, n: number): Uint8Array {
    if (!r.arena) r.arena = this.spare.pop() ?? Buffer.allocUnsafe(RUN_BYTES);
    const v = r.arena.subarray(r.arenaFill, r.arenaFill + n);
    r.arenaFill += n;
    return v;
  }
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown;

  /**
   * Place `data` at `offset` of `fd` (after everything placed before). `stable`: the bytes stay as
   * they are until written (a view of a read buffer), so they need no copy.
   */
  put(fd: number, offset: number, data: Uint8Array, stable: boolean): void {
    let r = this.run;
    if (!r || r.fd !== fd || r.start + r.fill !== offset || r.fill + data.length > RUN_BYTES || r.pieces.length === MAX_PIECES) {
      this.flush();
      r = this.run = { fd, start: offset, fill: 0, pieces: [], held: [], arena: undefined, arenaFill: 0 };
    }
    let piece = data;
    if (!stable) {
      piece = data.length <= RUN_BYTES ? this.arenaFor(r, data.length) : new Uint8Array(data.length);
      piece.set(data);
    } else if (r.held[r.held.length - 1] !== data.buffer) {
      r.held.push(data.buffer);
      this.holds.set(data.buffer, (this.holds.get(data.buffer) ?? 0) + 1);
    }
    r.pieces.push(piece);
    r.fill += data.length;
  }

  /** Hand the current run to the pool. */
  flush(): void {
    const r = this.run;
    if (!r) return;
    this.run = undefined;
    // A run that touches no byte of a run not yet written goes to the pool at once, beside it, so
    // the pool never waits for this thread between two writes; one that does (a page sent again)
    // waits for every write before it, so the last copy lands last.
    const overlaps = this.queued.some(({ run: q }) => q.fd === r.fd && q.start < r.start + r.fill && r.start < q.start + q.fill);
    const done = (overlaps ? this.tail : Promise.resolve()).then(() => writeRun(r));
    const entry = { run: r, done };
    this.queued.push(entry);
    const settled = done.then(
      () => {
        this.queued.splice(this.queued.indexOf(entry), 1);
        if (r.arena) this.spare.push(r.arena);
        for (const b of r.held) {
          const n = this.holds.get(b)! - 1;
          if (n === 0) this.holds.delete(b);
          else this.holds.set(b, n);
        }
      },
      (e: unknown) => {
        this.failure ??= e;
      },
    );
    this.tail = Promise.all([this.tail, settled]).then(() => undefined);
  }

  /** Does a run not yet written hold a view of `buffer`? (Its reader must not reuse it yet.) */
  inUse(buffer: ArrayBufferLike): boolean {
    return this.holds.has(buffer);
  }

  /** A promise to wait on when too many runs are queued (flat memory); undefined otherwise. */
  ready(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.queued.length < MAX_QUEUED) return undefined;
    return this.queued[0]!.done.then(() => this.check());
  }

  /**
   * The newest bytes placed at [offset, offset + out.length) of `fd` that are not yet in the file,
   * copied into `out`; false when the file itself is current for that range.
   */
  unwritten(fd: number, offset: number, out: Uint8Array): boolean {
    const runs = this.run ? [...this.queued.map((q) => q.run), this.run] : this.queued.map((q) => q.run);
    for (let i = runs.length - 1; i >= 0; i--) {
      const r = runs[i]!;
      if (r.fd !== fd || offset < r.start || offset + out.length > r.start + r.fill) continue;
      // Pages are placed whole, so the range is one piece.
      let at = r.start;
      for (const p of r.pieces) {
        if (offset >= at && offset + out.length <= at + p.length) {
          out.set(p.subarray(offset - at, offset - at + out.length));
          return true;
        }
        at += p.length;
      }
    }
    return false;
  }

  /** Everything placed is in the files. */
  async close(): Promise<void> {
    this.flush();
    await this.tail;
    this.check();
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }
}
