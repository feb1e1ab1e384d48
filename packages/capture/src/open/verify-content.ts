/**
 * What index.json promises about each channel file (that it is there, its size, its sha256), and
 * the checks made when a capture directory is opened. The rows come from the schema
 * (listedFiles), already checked for shape.
 */
import { join } from 'node:path';
import { CaptureError } from '../errors.js';
import type { ListedFile } from '../index-schema/validate.js';
import { plainFileAt } from '../plain-file.js';
import { isGzipPath, type ExpectedContent } from './byte-source.js';

/** What index.json says each channel file holds, by file name (without .gz). */
export function expectedContents(rows: readonly ListedFile[]): Map<string, ExpectedContent> {
  const m = new Map<string, ExpectedContent>();
  for (const r of rows) m.set(r.file, { ...(r.size !== undefined ? { size: r.size } : {}), ...(r.sha256 ? { sha256: r.sha256 } : {}) });
  return m;
}

/**
 * Every file index.json lists is in `dir` (as named, or gzipped) and a plain file: one absent
 * means the capture is incomplete, which must not pass as a capture with one channel fewer.
 * CaptureError LISTED_FILE_MISSING (or NOT_A_FILE) naming the file and the index.json row.
 */
export function requireListedFiles(dir: string, rows: readonly ListedFile[]): void {
  for (const r of rows) {
    const plain = join(dir, r.file);
    if (plainFileAt(plain) === 'file' || plainFileAt(`${plain}.gz`) === 'file') continue;
    const why = r.writeError ? ` (index.json records its write error: ${r.writeError})` : '';
    throw new CaptureError(
      `${plain}: listed in index.json (${r.at}) but not in the capture directory (nor as ${r.file}.gz): the capture is incomplete${why}`,
      plain,
      { code: 'LISTED_FILE_MISSING' },
    );
  }
}

/** A size on disk that differs from index.json is reported at once (a .gz keeps its size modulo 4 GiB). */
export function checkSize(path: string, size: number, expect: ExpectedContent | undefined): void {
  if (expect?.size === undefined) return;
  const want = isGzipPath(path) ? expect.size % 2 ** 32 : expect.size;
  if (size === want) return;
  // A .gz's size is what its last 4 bytes say: a cut file ends elsewhere, so those are not a size.
  const holds = isGzipPath(path) ? `ends in a gzip size field of ${size} bytes (modulo 4 GiB; not one, if the file was cut)` : `holds ${size} bytes`;
  throw new CaptureError(`${path}: ${holds}, index.json says ${expect.size}: the file changed after it was recorded`, path);
}
