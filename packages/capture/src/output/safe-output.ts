/**
 * Creating output files without ever writing through a link: every file the toolkit writes is
 * created new (O_CREAT|O_EXCL|O_NOFOLLOW), so a symbolic link planted in an output folder is
 * refused (or, when replacing is allowed, removed and never followed). An output folder that
 * already holds something is refused unless the caller allows it (--force).
 */
import { closeSync, constants, createWriteStream, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync, type WriteStream } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CaptureError } from '../errors.js';

/** An output file or folder that cannot be created as asked (exists, is a link, not a folder). */
export class OutputError extends CaptureError {
  override name = 'OutputError';
}

const CREATE_NEW = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface OutputFileOptions {
  /** Replace an existing entry (its directory entry is removed first; a link is never followed). */
  replace?: boolean;
  /** Permission bits of a new file (default 0644). */
  mode?: number;
  /** Open for reading too (files patched in place, such as RAM images). */
  read?: boolean;
  /** More open(2) flags (O_DIRECT for `record --direct-io`). */
  flags?: number;
}

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/**
 * `mkdir -p`, one level at a time: Node's `recursive` mode loops for ever where the kernel says
 * ENOENT under a folder that exists (anything below /proc); here that is an error with the path.
 */
export function makeDirs(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let at = resolve(dir); lstatSync(at, { throwIfNoEntry: false }) === undefined; at = dirname(at)) {
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const d of missing.reverse()) mkdirSync(d, mode !== undefined ? { mode } : {});
}

/**
 * Make `dir` ready to take output: created (with parents) when missing; an existing folder must
 * be empty unless `force`. A link in place of the folder itself is refused.
 */
export function prepareOutputDir(dir: string, o: { force?: boolean; mode?: number } = {}): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw new OutputError(`${dir}: ${(e as Error).message}`, dir, { cause: e });
    try {
      makeDirs(dir, o.mode);
    } catch (e2) {
      throw new OutputError(`cannot create the output folder ${dir}: ${(e2 as Error).message}`, dir, { cause: e2 });
    }
    return;
  }
  if (st.isSymbolicLink()) throw new OutputError(`${dir} is a symbolic link: give the folder itself (output is never written through a link)`, dir);
  if (!st.isDirectory()) throw new OutputError(`${dir} exists and is not a folder`, dir);
  if (o.force) return;
  const n = readdirSync(dir).length;
  if (n > 0) throw new OutputError(`${dir} is not empty (${n} entr${n === 1 ? 'y' : 'ies'}): give a new or empty folder, or --force to replace what is in it`, dir);
}

/** Open a new file for writing (a file descriptor); never opens an existing entry. */
export function openOutputFile(path: string, o: OutputFileOptions = {}): number {
  const mode = o.mode ?? 0o644;
  const flags = CREATE_NEW | (o.read ? constants.O_RDWR : constants.O_WRONLY) | (o.flags ?? 0);
  try {
    return openSync(path, flags, mode);
  } catch (e) {
    if (errno(e) !== 'EEXIST' && errno(e) !== 'ELOOP') throw new OutputError(`cannot create ${path}: ${(e as Error).message}`, path, { cause: e });
    const st = lstatSync(path);
    const what = st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a folder' : 'a file';
    if (!o.replace || st.isDirectory()) throw new OutputError(`${path} already exists (${what}); output is never written into an existing entry${st.isDirectory() ? '' : ' (--force replaces it)'}`, path);
    unlinkSync(path); // the link itself goes, never what it points to
    try {
      return openSync(path, flags, mode);
    } catch (e2) {
      throw new OutputError(`cannot create ${path}: ${(e2 as Error).message}`, path, { cause: e2 });
    }
  }
}

/** A write stream on a new file (see openOutputFile). */
export function createOutputStream(path: string, o: OutputFileOptions & { highWaterMark?: number } = {}): WriteStream {
  const fd = openOutputFile(path, o);
  return createWriteStream(path, { fd, ...(o.highWaterMark !== undefined ? { highWaterMark: o.highWaterMark } : {}) });
}

function writeAllSync(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
}

/** Write a whole new file (see openOutputFile). */
export function writeOutputFile(path: string, data: string | Uint8Array, o: OutputFileOptions = {}): void {
  const fd = openOutputFile(path, o);
  try {
    writeAllSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replace `path` in one step: the data goes to a new temporary file beside it, is synced, and
 * is renamed over `path` (a rename replaces a link, never writes through it). Readers see the
 * old file or the whole new one, never a part; on failure `path` is left as it was.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, o: { mode?: number } = {}): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openOutputFile(tmp, { replace: true, ...(o.mode !== undefined ? { mode: o.mode } : {}) });
  try {
    try {
      writeAllSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw new OutputError(`cannot write ${path}: ${(e as Error).message}`, path, { cause: e });
  }
}

/**
 * Disk space held back so a final small file (index.json) can still be written when the disk
 * fills up: a file of `bytes` written now, removed just before the final write.
 */
export class SpaceReserve {
  private held: boolean;

  constructor(
    readonly path: string,
    bytes: number,
  ) {
    const fd = openOutputFile(path, { replace: true, mode: 0o600 });
    try {
      writeAllSync(fd, Buffer.alloc(bytes));
    } catch (e) {
      // No room even for the reserve (a full disk): nothing of it is left behind, and the error names it.
      closeSync(fd);
      rmSync(path, { force: true });
      throw new OutputError(`cannot reserve ${bytes} bytes in ${path} for the capture's index: ${(e as Error).message}`, path, { cause: e });
    }
    closeSync(fd);
    this.held = true;
  }

  /** Give the space back (idempotent). */
  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
