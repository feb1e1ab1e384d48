/** What index.json promises about each channel file (size, sha256), and the size check made at open. */
import { CaptureError } from '../errors.js';
import type { CaptureIndex } from '../index-schema/capture-index.js';
import { isGzipPath, type ExpectedContent } from './byte-source.js';

/** What index.json says each channel file holds, by file name (without .gz). */
export function expectedContents(index: CaptureIndex | undefined): Map<string, ExpectedContent> {
  const m = new Map<string, ExpectedContent>();
  const rows: Array<{ file?: unknown; size?: unknown; sha256?: unknown }> = [];
  if (Array.isArray(index?.connections)) for (const c of index.connections) rows.push(...Object.values((c as { directions?: object }).directions ?? {}).map((d: { file?: unknown; file_size?: unknown; sha256?: unknown }) => ({ file: d.file, size: d.file_size, sha256: d.sha256 })));
  if (Array.isArray((index as { files?: unknown })?.files)) rows.push(...((index as { files: Array<{ file?: unknown; size?: unknown; sha256?: unknown }> }).files));
  for (const r of rows) {
    if (typeof r.file !== 'string') continue;
    const e: ExpectedContent = {};
    if (typeof r.size === 'number') e.size = r.size;
    if (typeof r.sha256 === 'string' && /^[0-9a-f]{64}$/.test(r.sha256)) e.sha256 = r.sha256;
    m.set(r.file, e);
  }
  return m;
}

/** A size on disk that differs from index.json is reported at once (a .gz keeps its size modulo 4 GiB). */
export function checkSize(path: string, size: number, expect: ExpectedContent | undefined): void {
  if (expect?.size === undefined) return;
  const want = isGzipPath(path) ? expect.size % 2 ** 32 : expect.size;
  if (size !== want) throw new CaptureError(`${path}: holds ${size} bytes, index.json says ${expect.size}: the file changed after it was recorded`, path);
}
