/**
 * The one check of index.json's shape. Every field a reader of the toolkit uses is held to its
 * type here, once, when the file is read: a bad field is a CaptureError INDEX_INVALID naming
 * index.json, the field's JSON path and what was expected. Readers then trust the shape.
 *
 * Fields no reader uses are left alone (recorders add some; older ones lack some). What a row
 * promises about a channel file (name, size, sha256) is held strictly: a promise that cannot be
 * checked must not pass as a check that held.
 */
import { connectionFileName, DIRECTIONS, STREAM_FILE, type Direction } from '../naming.js';
import { FILE_FORMAT, PROBE_FORMAT } from './formats.js';
import { ARRAY, BOOLEAN, COUNT, FILE_NAME, Fields, OBJECT, oneOf, SHA256, STRING, STRING_OR_NULL, TIME_OR_NULL, type JsonObject } from './fields.js';
import { TCP_PROXY_FORMAT, type DirectionStats, type TcpConnection } from './tcp-proxy.js';
import type { CaptureIndex, StreamFileRow } from './capture-index.js';

const FORMATS = [TCP_PROXY_FORMAT, FILE_FORMAT, PROBE_FORMAT] as const;

/** A channel file index.json lists, with what it promises of it. */
export interface ListedFile {
  /** Its name in the capture directory, as index.json gives it (on disk it may carry .gz). */
  file: string;
  /** Bytes (unpacked). */
  size?: number;
  /** sha256 of the bytes (unpacked), lowercase hex. */
  sha256?: string;
  /** JSON path of the row's `file` field, for messages. */
  at: string;
  /** The recorder's write error for this file: why it may be short, or was never created. */
  writeError?: string;
}

/** `parsed` (index.json at `path`) checked field by field; returned as it is, extra fields kept. */
export function validateCaptureIndex(path: string, parsed: unknown): CaptureIndex {
  const f = new Fields(path);
  const root = f.is(parsed, OBJECT, '(top level)');
  const format = f.need(root, 'format', oneOf(FORMATS), '');
  f.may(root, 'transport', STRING, '');
  const ids = new Map<number, string>();
  f.need(root, 'connections', ARRAY, '').forEach((c, i) => connection(f, c, `connections[${i}]`, ids));
  // A file/exec capture's one promise about its stream is in `files`.
  const files = format === FILE_FORMAT ? f.need(root, 'files', ARRAY, '') : f.may(root, 'files', ARRAY, '');
  const listed = new Set<string>();
  files?.forEach((r, i) => streamFileRow(f, r, `files[${i}]`, listed));
  return root as unknown as CaptureIndex;
}

function connection(f: Fields, v: unknown, at: string, ids: Map<number, string>): void {
  const c = f.is(v, OBJECT, at);
  const id = f.need(c, 'id', COUNT, at);
  const other = ids.get(id);
  // Readers key connections by id (file names, replay plans): two with one id would hide one.
  if (other !== undefined) f.fail(`${at}.id`, `an id no other connection has (${other}.id is ${id} too)`, id);
  ids.set(id, at);
  f.may(c, 'role', STRING, at);
  f.may(c, 'multifdId', COUNT, at);
  for (const k of ['accepted_at', 'target_connected_at', 'closed_at']) f.may(c, k, TIME_OR_NULL, at);
  f.may(c, 'forced_close', BOOLEAN, at);
  for (const k of ['connect_error', 'role_error']) f.may(c, k, STRING_OR_NULL, at);
  // A connection without directions lists no file (partial indexes written by tests and tools).
  const dirs = f.may(c, 'directions', OBJECT, at);
  if (!dirs) return;
  for (const [key, row] of Object.entries(dirs)) {
    if (!(DIRECTIONS as readonly string[]).includes(key)) f.fail(`${at}.directions.${key}`, 'only the directions "src2dst" and "dst2src"', row);
    direction(f, row, `${at}.directions.${key}`, id, key as Direction);
  }
}

function direction(f: Fields, v: unknown, at: string, conn: number, d: Direction): void {
  const r = f.is(v, OBJECT, at);
  for (const k of ['recv_error', 'send_error', 'end_reason']) f.may(r, k, STRING_OR_NULL, at);
  const writeError = f.may(r, 'write_error', STRING_OR_NULL, at);
  for (const k of ['first_data_at', 'ended_at']) f.may(r, k, TIME_OR_NULL, at);
  const size = f.may(r, 'file_size', COUNT, at);
  // The one empty digest a recorder writes: its file refused a write (write_error says why), so
  // no digest was taken. Any other value must be a digest the check can compare with.
  const sha = r['sha256'] === '' && writeError ? '' : f.may(r, 'sha256', SHA256, at);
  const file = f.may(r, 'file', FILE_NAME, at);
  if (file === undefined) {
    if (size !== undefined || sha !== undefined) f.fail(`${at}.file`, 'the name of the file file_size and sha256 describe', undefined);
    return;
  }
  // The directory is read by these names: a row naming another file would promise a check of a
  // file no reader opens.
  const want = connectionFileName(conn, d);
  if (file !== want) f.fail(`${at}.file`, `${JSON.stringify(want)} (the file of connection ${conn}, ${d}; without .gz)`, file);
}

function streamFileRow(f: Fields, v: unknown, at: string, listed: Set<string>): void {
  const r: JsonObject = f.is(v, OBJECT, at);
  const file = f.need(r, 'file', FILE_NAME, at);
  if (file !== STREAM_FILE) f.fail(`${at}.file`, `${JSON.stringify(STREAM_FILE)} (the one file of a file/exec capture; without .gz)`, file);
  if (listed.has(file)) f.fail(`${at}.file`, 'a file no other row of files lists', file);
  listed.add(file);
  f.may(r, 'size', COUNT, at);
  f.may(r, 'sha256', SHA256, at);
}

/** Every channel file a (validated) index lists, with its size and sha256 when given. */
export function listedFiles(index: CaptureIndex): ListedFile[] {
  const out: ListedFile[] = [];
  const add = (r: { file?: string; size?: number; sha256?: string; writeError?: string | null }, at: string): void => {
    if (r.file === undefined) return;
    out.push({
      file: r.file,
      at,
      ...(r.size !== undefined ? { size: r.size } : {}),
      ...(r.sha256 ? { sha256: r.sha256 } : {}),
      ...(r.writeError ? { writeError: r.writeError } : {}),
    });
  };
  (index.connections as TcpConnection[]).forEach((c, i) => {
    for (const d of DIRECTIONS) {
      const r = c.directions?.[d] as Partial<DirectionStats> | undefined;
      if (r) add({ file: r.file, size: r.file_size, sha256: r.sha256, writeError: r.write_error }, `connections[${i}].directions.${d}.file`);
    }
  });
  ((index as { files?: StreamFileRow[] }).files ?? []).forEach((r, i) => add(r, `files[${i}].file`));
  return out;
}
