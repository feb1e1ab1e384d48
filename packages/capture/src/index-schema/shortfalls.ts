/**
 * What a recording's own index.json says it lost: bytes a direction received but did not write
 * (a full disk, a file that refused a write). Such a file ends short of what the migration sent,
 * which a reader must say even where the bytes it holds decode cleanly.
 */
import { DIRECTIONS, connectionFileName, type Direction } from '../naming.js';
import type { CaptureIndex } from './capture-index.js';

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
      const lost = typeof r.bytes_not_written === 'number' ? r.bytes_not_written : typeof r.bytes_received === 'number' && typeof r.bytes_written === 'number' && r.file ? r.bytes_received - r.bytes_written : 0;
      if (!(lost > 0)) continue;
      const why = r.write_error ? ` (write error: ${r.write_error})` : '';
      const held = typeof r.bytes_written === 'number' ? `${r.bytes_written} of ${r.bytes_received} bytes` : `${lost} bytes fewer than it received`;
      out.push({ conn: c.id, direction: d, message: `${connectionFileName(c.id, d)}: index.json says the recorder wrote ${held}${why}: the file ends short of what the migration sent` });
    }
  }
  return out;
}
