/** The one chunks.csv reader: line by line (bounded memory, bounded lines), columns by header name. */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { CaptureError } from '../errors.js';
import { MAX_CHUNK, MAX_CHUNKS_LINE, type ChunkRow } from './chunk-row.js';
import { boundedLines, quoted } from './lines.js';

const COLUMNS = ['t', 'conn', 'dir', 'offset', 'len'] as const;
const DECIMAL = /^\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** A row with the line it came from (for messages that point at it). */
export interface ChunkLine extends ChunkRow {
  line: number;
}

/**
 * Every row of a chunks.csv, in file order. Throws CaptureError (with `path`, the line and its
 * byte offset) for a header without the needed columns, an empty file, a row that is not numbers
 * where numbers go, or a line longer than MAX_CHUNKS_LINE. `input` reads from a stream instead of
 * `path` (which then only names it in errors; the stream is left open).
 */
export async function* readChunks(path: string, input?: Readable): AsyncGenerator<ChunkLine> {
  const source = input ?? createReadStream(path);
  let col: Record<string, number> | undefined;
  const next = new Map<string, number>();
  try {
    for await (const { text: line, number: n, offset: at } of boundedLines(input ? input.iterator({ destroyOnReturn: false }) : source, path, MAX_CHUNKS_LINE)) {
      if (line.trim() === '') continue;
      const f = line.split(',');
      if (!col) {
        col = Object.fromEntries(f.map((name, i) => [name.trim(), i]));
        for (const need of COLUMNS) if (col[need] === undefined) throw new CaptureError(`${path}: header has no "${need}" column (line ${n}: ${quoted(line)})`, path, { code: 'CHUNKS_BAD_ROW' });
        continue;
      }
      const dir = f[col['dir']!];
      const seq = col['seq'] === undefined ? n - 2 : Number(f[col['seq']]);
      const t = Number(f[col['t']!]);
      const conn = Number(f[col['conn']!]);
      const offset = Number(f[col['offset']!]);
      const len = Number(f[col['len']!]);
      // Times are decimal seconds from the recorder's clock zero: never negative, never hex ("0x10").
      const tText = f[col['t']!]?.trim() ?? '';
      if ((dir !== 'src2dst' && dir !== 'dst2src') || !DECIMAL.test(tText) || t < 0 || ![seq, t, conn, offset, len].every(Number.isFinite) || !Number.isInteger(conn) || conn < 0 || !Number.isInteger(offset) || !Number.isInteger(len) || len < 0 || len > MAX_CHUNK) {
        throw new CaptureError(`${path} line ${n}: bad row ${quoted(line)} (byte ${at})`, path, { code: 'CHUNKS_BAD_ROW' });
      }
      // Each direction's chunks follow each other from offset 0: a row that skips or repeats bytes
      // would time the wrong bytes (replay, report, arrival times).
      const key = `${conn}.${dir}`;
      const expected = next.get(key) ?? 0;
      if (offset !== expected) throw new CaptureError(`${path} line ${n}: connection ${conn} ${dir} chunk at offset ${offset}, expected ${expected} (chunks must follow each other) (byte ${at})`, path, { code: 'CHUNKS_BAD_ROW' });
      next.set(key, offset + len);
      yield { seq, t, conn, dir, offset, len, line: n };
    }
  } catch (e) {
    if (e instanceof CaptureError) throw e;
    throw new CaptureError(`${path}: cannot be read: ${(e as Error).message}`, path, { cause: e, code: 'CHUNKS_UNREADABLE' });
  } finally {
    if (!input) (source as ReturnType<typeof createReadStream>).destroy();
  }
  if (!col) throw new CaptureError(`${path}: empty (no header line)`, path, { code: 'CHUNKS_EMPTY' });
}
