/**
 * Is a capture's file there and readable as a plain file? existsSync said "no" for a dangling or
 * looping link (the file was skipped without a word) and "yes" for a directory (then read() failed
 * with a bare EISDIR): one answer here, with the path and what stands there instead.
 */
import { lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { CaptureError } from './errors.js';

/** What a non-file is, in words. */
function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'an entry of unknown kind';
}

const notAFile = (path: string, what: string, cause?: unknown): CaptureError =>
  new CaptureError(`${path}: ${what}`, path, { code: 'NOT_A_FILE', ...(cause === undefined ? {} : { cause }) });

/**
 * 'file' for a plain file (or a link to one), 'absent' when nothing at all is there (not even a
 * link); anything else (a directory, a link to nothing, a link loop, a device) is a CaptureError
 * NOT_A_FILE naming `path`.
 */
export function plainFileAt(path: string): 'file' | 'absent' {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A path below a file: nothing can be there, not even a link.
    if (code === 'ENOTDIR') return 'absent';
    if (code === 'ENOENT') {
      // stat follows links: only lstat tells a link whose target is gone from no entry at all.
      if (!lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) return 'absent';
      let target = '?';
      try {
        target = readlinkSync(path);
      } catch {
        // Gone meanwhile: the message still says what it was.
      }
      throw notAFile(path, `is a symbolic link to ${JSON.stringify(target)}, which does not exist`);
    }
    if (code === 'ELOOP') throw notAFile(path, 'is a symbolic link that loops back on itself (ELOOP)', e);
    throw notAFile(path, `cannot be read: ${(e as Error).message}`, e);
  }
  if (!st.isFile()) throw notAFile(path, `is ${kind(st)}, not a plain file`);
  return 'file';
}

/** `path`, which must be a plain file (or a link to one); else a CaptureError NOT_A_FILE naming it. */
export function requirePlainFile(path: string): string {
  if (plainFileAt(path) === 'absent') throw notAFile(path, 'no such file');
  return path;
}

/**
 * "-" (standard input), or a path to a named pipe or character device (`<(zcat x.gz)`,
 * /dev/stdin on a pipe): bytes that can be read once, in order, with no size and no seek.
 */
export function isStreamPath(path: string): boolean {
  if (path === '-') return true;
  const st = statSync(path, { throwIfNoEntry: false });
  return st !== undefined && (st.isFIFO() || st.isCharacterDevice());
}

/** "-" or a named pipe: its bytes can be read only once (a device such as /dev/zero can be opened again). */
export function isPipePath(path: string): boolean {
  return path === '-' || statSync(path, { throwIfNoEntry: false })?.isFIFO() === true;
}
