/**
 * The one chunks.csv writer: numbers the rows and keeps each direction's offset. Rows are
 * gathered and written ~64 KiB at a time (or after ROW_FLUSH_MS): a write per row was a trip
 * through libuv's pool per received chunk, tens of thousands per recorded gigabyte.
 */
import type { WriteStream } from 'node:fs';
import { createOutputStream } from '../output/safe-output.js';
import type { Direction } from '../naming.js';
import { CHUNKS_HEADER } from './chunk-row.js';

/** Pending row text written once it reaches this many characters. */
const ROW_FLUSH_CHARS = 64 * 1024;
/** ...or at the latest this long after the first pending row. */
const ROW_FLUSH_MS = 50;

export class ChunksWriter {
  private readonly out: WriteStream;
  private seq = 0;
  private pending = '';
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

  /** One recv(): `len` bytes of connection `conn`, direction `dir`, starting at `offset`, at time `t` (s). */
  row(t: number, conn: number, dir: Direction, offset: number, len: number): void {
    if (this.error !== null) return void this.seq++;
    this.pending += `${this.seq++},${t.toFixed(6)},${conn},${dir},${offset},${len}\n`;
    if (this.pending.length >= ROW_FLUSH_CHARS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), ROW_FLUSH_MS);
  }

  /** Hand the pending rows to the file. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === '' || this.out.closed) return;
    this.out.write(this.pending);
    this.pending = '';
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
