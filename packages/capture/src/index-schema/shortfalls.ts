/**
 * What a recording's own index.json says it lost: bytes a direction received but did not write
 * (a full disk, a file that refused a write). Such a file ends short of what the migration sent,
 * which a reader must say even where the bytes it holds decode cleanly.
 */
import { DIRECTIONS, connectionFileName, type Direction } from '../naming.js';
import type { CaptureIndex } from './capture-index.js';
import type { DirectionStats } from './tcp-proxy.js';

/** Bytes a direction received but did not write to its file (older indexes lack bytes_not_written). */
export function bytesNotWritten(d: Partial<Pick<DirectionStats, 'bytes_not_written' | 'bytes_received' | 'bytes_written'>>): number {
  if (typeof d.bytes_not_written === 'number') return d.bytes_not_written;
  return typeof d.bytes_received === 'number' && typeof d.bytes_written === 'number' ? d.bytes_received - d.bytes_written : 0;
}

export interface RecordingShortfall {
  conn: number;
  direction: Direction;
  message: string;
}

export function recordingShortfalls(index: CaptureIndex | undefined): RecordingShortfall[] {
  if (!index || !('connections' in index) || !Array.isArray(index.connections)) return [];
  const out: RecordingShortfall[] = [];
  for (const c of index.connections) {
    for (const d of DIRECTIONS) {
      const r = c.directions?.[d];
      if (!r) continue;
      const lost = r.file ? bytesNotWritten(r) : 0;
      if (!(lost > 0)) continue;
      const why = r.write_error ? ` (write error: ${r.write_error})` : '';
      const held = typeof r.bytes_written === 'number' ? `${r.bytes_written} of ${r.bytes_received} bytes` : `${lost} bytes fewer than it received`;
      out.push({ conn: c.id, direction: d, message: `${connectionFileName(c.id, d)}: index.json says the recorder wrote ${held}${why}: the file ends short of what the migration sent` });
    }
  }
  return out;
}
