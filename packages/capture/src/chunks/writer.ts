/** The one chunks.csv writer: numbers the rows and keeps each direction's offset. */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Direction } from '../naming.js';
import { CHUNKS_HEADER } from './chunk-row.js';

export class ChunksWriter {
  private readonly out: WriteStream;
  private seq = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path);
    this.out.write(CHUNKS_HEADER + '\n');
  }

  /** Rows written so far (index.json `chunk_count`). */
  get count(): number {
    return this.seq;
  }

  /** One recv(): `len` bytes of connection `conn`, direction `dir`, starting at `offset`, at time `t` (s). */
  row(t: number, conn: number, dir: Direction, offset: number, len: number): void {
    this.out.write(`${this.seq++},${t.toFixed(6)},${conn},${dir},${offset},${len}\n`);
  }

  /** Flush and close the file. */
  close(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
  }
}
