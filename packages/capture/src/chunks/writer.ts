/** The one chunks.csv writer: numbers the rows and keeps each direction's offset. */
import type { WriteStream } from 'node:fs';
import { createOutputStream } from '../output/safe-output.js';
import type { Direction } from '../naming.js';
import { CHUNKS_HEADER } from './chunk-row.js';

export class ChunksWriter {
  private readonly out: WriteStream;
  private seq = 0;
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
    this.out.write(`${this.seq++},${t.toFixed(6)},${conn},${dir},${offset},${len}\n`);
  }

  /** Flush and close the file; a write failure stays in `error` (the recording reports it). */
  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.out.closed) return resolve();
      this.out.once('close', () => resolve());
      this.out.end();
    });
  }
}
