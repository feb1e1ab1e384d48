/**
 * The one chunks.csv writer: numbers the rows and keeps each direction's offset. Rows are
 * gathered and written ~64 KiB at a time (or after ROW_FLUSH_MS): a write per row was a trip
 * through libuv's pool per received chunk, tens of thousands per recorded gigabyte.
 *
 * Rows are gathered as bytes, not as a growing string: a string of ~1500 row pieces outlived
 * V8's young-generation collections, was promoted, and set off a full collection every ~70 MB
 * recorded (15-30 per GiB, ~0.3 s of CPU per GiB, pnpm bench). Each row's own small string dies
 * young, at no cost.
 */
import type { WriteStream } from 'node:fs';
import { createOutputStream } from '../output/safe-output.js';
import type { Direction } from '../naming.js';
import { CHUNKS_HEADER } from './chunk-row.js';

/** Pending rows are written once they reach this many bytes. */
const ROW_FLUSH_BYTES = 64 * 1024;
/** Room kept for one row: six numbers of at most 22 characters and the direction's name. */
const ROW_MAX_BYTES = 256;
/** ...or at the latest this long after the first pending row. */
const ROW_FLUSH_MS = 50;

export class ChunksWriter {
  private readonly out: WriteStream;
  private seq = 0;
  private pending = Buffer.allocUnsafe(ROW_FLUSH_BYTES + ROW_MAX_BYTES);
  private used = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Why the file refused a write (a full disk), if it did; rows after it are lost. */
  error: string | null = null;

  /** Creates `path` new (never through a link; an existing entry only with `replace`). */
  constructor(
    readonly path: string,
    o: { replace?: boolean } = {},
  ) {
    this.out = createOutputStream(path, o);
    this.out.on('error', (e) => (this.error ??= e.message));
    this.out.write(CHUNKS_HEADER + '\n');
  }

  /** Rows written so far (index.json `chunk_count`). */
  get count(): number {
    return this.seq;
  }

  /** Rows written with time 0 because their time was unknown (packets without a timestamp). */
  untimed = 0;

  /** One recv(): `len` bytes of connection `conn`, direction `dir`, starting at `offset`, at time `t` (s). */
  row(t: number, conn: number, dir: Direction, offset: number, len: number): void {
    if (this.error !== null) return void this.seq++;
    // Never a row the reader refuses: an unknown time (NaN) is written as 0, and counted.
    if (!Number.isFinite(t)) {
      this.untimed++;
      t = 0;
    }
    this.used += this.pending.write(`${this.seq++},${t.toFixed(6)},${conn},${dir},${offset},${len}\n`, this.used, 'latin1');
    if (this.used >= ROW_FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), ROW_FLUSH_MS);
  }

  /** Hand the pending rows to the file. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.used === 0 || this.out.closed) return;
    // The stream keeps the bytes until they are written: the next rows go into a new buffer.
    this.out.write(this.pending.subarray(0, this.used));
    this.pending = Buffer.allocUnsafe(ROW_FLUSH_BYTES + ROW_MAX_BYTES);
    this.used = 0;
  }

  /** Flush and close the file; a write failure stays in `error` (the recording reports it). */
  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.out.closed) return resolve();
      this.flush();
      this.out.once('close', () => resolve());
      this.out.end();
    });
  }
}
