/**
 * index.json: one schema for every kind of capture (a TCP recording, a file/exec migration, a
 * probe that moved no bytes), read and written here only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError } from '../errors.js';
import { INDEX_FILE } from '../naming.js';
import { writeFileAtomic } from '../output/safe-output.js';
import { plainFileAt } from '../plain-file.js';
import { FILE_FORMAT, PROBE_FORMAT } from './formats.js';
import type { TcpProxyIndex } from './tcp-proxy.js';
import { validateCaptureIndex } from './validate.js';

export { FILE_FORMAT, PROBE_FORMAT };

/** The migration file of a file/exec capture. */
export interface StreamFileRow {
  file: string;
  size?: number;
  allocated_bytes?: number;
  sha256?: string;
  head_hex?: string;
  uri_written?: string;
  uri_read?: string;
}

export interface FileIndex {
  format: typeof FILE_FORMAT;
  transport: 'file' | 'exec';
  files: StreamFileRow[];
  connections: [];
  [extra: string]: unknown;
}

/** A probe: QEMU was asked, nothing migrated (answers in meta.json `probe`). */
export interface ProbeIndex {
  format: typeof PROBE_FORMAT;
  transport: 'none';
  connections: [];
  [extra: string]: unknown;
}

export type CaptureIndex = TcpProxyIndex | FileIndex | ProbeIndex;

/**
 * index.json of a capture directory, every field readers use checked (validate.ts); undefined
 * when there is none. A CaptureError names the file: not a plain file (NOT_A_FILE), not JSON
 * (INDEX_NOT_JSON), a field not as the schema says (INDEX_INVALID, with its JSON path).
 */
export function readCaptureIndex(dir: string): CaptureIndex | undefined {
  const path = join(dir, INDEX_FILE);
  // A dangling link or a directory in its place is not "no index": the checks it holds would be lost.
  if (plainFileAt(path) === 'absent') return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CaptureError(`${path}: cannot be read: ${(e as Error).message}`, path, { cause: e, code: 'NOT_A_FILE' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CaptureError(`${path}: not JSON (${(e as Error).message})`, path, { cause: e, code: 'INDEX_NOT_JSON' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CaptureError(`${path}: not a JSON object`, path, { code: 'INDEX_NOT_JSON' });
  return validateCaptureIndex(path, parsed);
}

/**
 * Write index.json into a capture directory (pretty-printed, newline at the end), atomically: a
 * reader finds the previous index.json or the whole new one, never a part (a full disk included).
 */
export function writeCaptureIndex(dir: string, index: CaptureIndex): void {
  writeFileAtomic(join(dir, INDEX_FILE), JSON.stringify(index, null, 2) + '\n');
}

export function isTcpProxyIndex(index: CaptureIndex | undefined): index is TcpProxyIndex {
  return index?.format === 'qemu-migration-capture/tcp-proxy/1';
}
