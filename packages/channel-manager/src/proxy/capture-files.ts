/**
 * The files of a capture being recorded: a directory with one file per connection and direction,
 * chunks.csv (one row per received chunk) and, at the end, index.json, all in the format of
 * @migwire/capture. Without a directory nothing is written (a blind pipe keeps the counts only).
 * Every file is created new (never through a link); a small reserve of disk space is held so
 * index.json can still be written when the disk fills up.
 */
import { join } from 'node:path';
import { CHUNKS_FILE, ChunksWriter, connectionFileName, prepareOutputDir, SpaceReserve, writeCaptureIndex, type CaptureIndex } from '@migwire/capture';
import { DEFAULT_FILE_BUFFER_BYTES, DirectionRecorder } from './direction.js';

/** Space kept free for index.json: ~1.5 KiB per connection, so room for several hundred. */
export const INDEX_RESERVE_BYTES = 1024 * 1024;
const RESERVE_FILE = '.index-reserve';

export interface CaptureFilesOptions {
  /** Bytes a recording file may lag behind the network per direction. */
  fileBufferBytes?: number;
  /** Write into a folder that is not empty, replacing files of the same name (never through a link). */
  force?: boolean;
  /** Write the channel files with O_DIRECT where the file system allows it (see direct-file.ts). */
  directIo?: boolean;
  /** Told once when O_DIRECT was asked for and a file had to go through the page cache. */
  onNotice?: (message: string) => void;
}

export class CaptureFiles {
  private readonly chunks: ChunksWriter | undefined;
  private readonly reserve: SpaceReserve | undefined;
  private readonly fileBufferBytes: number;
  private readonly force: boolean;
  private readonly directIo: boolean;
  private readonly onNotice: (message: string) => void;
  /** Asked for O_DIRECT, and a file had to be written through the page cache instead (said once). */
  private directIoRefused = false;

  constructor(
    /** Capture directory; undefined records nothing. */
    readonly dir: string | undefined,
    o: CaptureFilesOptions = {},
  ) {
    this.fileBufferBytes = o.fileBufferBytes ?? DEFAULT_FILE_BUFFER_BYTES;
    this.force = o.force ?? false;
    this.directIo = o.directIo ?? false;
    this.onNotice = o.onNotice ?? (() => {});
    if (dir === undefined) return;
    prepareOutputDir(dir, { force: this.force });
    this.reserve = new SpaceReserve(join(dir, RESERVE_FILE), INDEX_RESERVE_BYTES);
    this.chunks = new ChunksWriter(join(dir, CHUNKS_FILE), { replace: this.force });
  }

  /** The two recorders of connection `id`; `onWriteError` is told once when a file refuses a write. */
  recorders(id: number, onWriteError: (message: string) => void): { up: DirectionRecorder; down: DirectionRecorder } {
    const recorder = (d: 'src2dst' | 'dst2src'): DirectionRecorder => {
      const name = connectionFileName(id, d);
      const rec = new DirectionRecorder(d, name, this.dir === undefined ? undefined : join(this.dir, name), onWriteError, this.fileBufferBytes, this.force, this.directIo);
      if (this.directIo && rec.recording && !rec.directIo && rec.writeError === null && !this.directIoRefused) {
        this.directIoRefused = true;
        this.onNotice(`the file system of ${this.dir} does not allow O_DIRECT: recording through the page cache`);
      }
      return rec;
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

  /** Why chunks.csv refused a write, if it did. */
  get chunksError(): string | null {
    return this.chunks?.error ?? null;
  }

  /** Flush chunks.csv. */
  async closeChunks(): Promise<void> {
    await this.chunks?.close();
  }

  /** Write index.json (when recording), atomically, into the space held back for it. */
  writeIndex(index: CaptureIndex): void {
    if (this.dir === undefined) return;
    this.reserve?.release();
    writeCaptureIndex(this.dir, index);
  }
}
