/**
 * The files of a capture being recorded: a directory with one file per connection and direction,
 * chunks.csv (one row per received chunk) and, at the end, index.json, all in the format of
 * @migwire/capture. Without a directory nothing is written (a blind pipe keeps the counts only).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CHUNKS_FILE, ChunksWriter, connectionFileName, writeCaptureIndex, type CaptureIndex } from '@migwire/capture';
import { DEFAULT_FILE_BUFFER_BYTES, DirectionRecorder } from './direction.js';

export class CaptureFiles {
  private readonly chunks: ChunksWriter | undefined;

  constructor(
    /** Capture directory; undefined records nothing. */
    readonly dir: string | undefined,
    private readonly fileBufferBytes = DEFAULT_FILE_BUFFER_BYTES,
  ) {
    if (dir === undefined) return;
    mkdirSync(dir, { recursive: true });
    this.chunks = new ChunksWriter(join(dir, CHUNKS_FILE));
  }

  /** The two recorders of connection `id`; `onWriteError` is told once when a file refuses a write. */
  recorders(id: number, onWriteError: (message: string) => void): { up: DirectionRecorder; down: DirectionRecorder } {
    const recorder = (d: 'src2dst' | 'dst2src'): DirectionRecorder => {
      const name = connectionFileName(id, d);
      return new DirectionRecorder(d, name, this.dir === undefined ? undefined : join(this.dir, name), onWriteError, this.fileBufferBytes);
    };
    return { up: recorder('src2dst'), down: recorder('dst2src') };
  }

  /** Record the arrival of a chunk of `len` bytes at `t`, before `rec` records it (its offset is the bytes so far). */
  chunk(t: number, conn: number, rec: DirectionRecorder, len: number): void {
    this.chunks?.row(t, conn, rec.name, rec.received, len);
  }

  /** Rows in chunks.csv so far (0 when nothing is recorded). */
  get chunkCount(): number {
    return this.chunks?.count ?? 0;
  }

  /** Flush chunks.csv. */
  async closeChunks(): Promise<void> {
    await this.chunks?.close();
  }

  /** Write index.json (when recording). */
  writeIndex(index: CaptureIndex): void {
    if (this.dir !== undefined) writeCaptureIndex(this.dir, index);
  }
}
