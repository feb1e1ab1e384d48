import type { Slab } from './read-slabs.js';

/** Where one direction's received bytes go: through the page cache (PageCacheFile) or around it (DirectFile). */
export interface RecordingFile {
  /**
   * Take a chunk; false when the file is behind and the reader should pause. The chunk's memory
   * is not reused until `done` is called, once (a file that copies it calls it before returning).
   */
  write(chunk: Buffer, done?: () => void, slab?: Slab): boolean;
  /** Resolves once the file has caught up (or failed). */
  drained(): Promise<void>;
  /** Write what is left and close the file. */
  close(): Promise<void>;
}

export interface RecordingFileEvents {
  /** The file refused a write (disk full, I/O error); may be told more than once. */
  onError(message: string): void;
  /** Bytes of the stream reached the file. */
  onWritten(bytes: number): void;
}
