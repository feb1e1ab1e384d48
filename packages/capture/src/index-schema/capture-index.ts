/**
 * index.json: one schema for every kind of capture (a TCP recording, a file/exec migration, a
 * probe that moved no bytes), read and written here only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError } from '../errors.js';
import { INDEX_FILE } from '../naming.js';
import { writeFileAtomic } from '../output/safe-output.js';
import type { TcpProxyIndex } from './tcp-proxy.js';

export const FILE_FORMAT = 'qemu-migration-capture/file/1';
export const PROBE_FORMAT = 'qemu-migration-capture/probe/1';

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

/** index.json of a capture directory; undefined when there is none. */
export function readCaptureIndex(dir: string): CaptureIndex | undefined {
  const path = join(dir, INDEX_FILE);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CaptureError(`${path}: not JSON (${(e as Error).message})`, path, { cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CaptureError(`${path}: not a JSON object`, path);
  return parsed as CaptureIndex;
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
