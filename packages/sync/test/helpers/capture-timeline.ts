/** Rebuilds a real capture's arrival order (chunks.csv) as one list of decoded records. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCapture, readChunks } from '@migwire/capture';
import { decodeMainStream, decodeMultifdChannel, type MainRecord, type MultifdRecord } from '@migwire/stream-codec';

export type CaptureEvent =
  | { source: 'main'; record: MainRecord; seq: number }
  | { source: 'multifd'; channel: number; record: MultifdRecord; seq: number };

function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'pnpm-workspace.yaml'))) {
    const up = dirname(d);
    if (up === d) throw new Error('repository root not found');
    d = up;
  }
  return d;
}

export function capturesDir(): string {
  return process.env['MIGWIRE_SHARED_CAPTURES'] ?? join(repoRoot(), 'fixtures');
}

/** The real QEMU captures the repository ships (gzipped) in fixtures/, as fixtures/captures.json lists them. */
export function realCaptures(): string[] {
  return JSON.parse(readFileSync(join(repoRoot(), 'fixtures', 'captures.json'), 'utf8')) as string[];
}

export function captureNames(prefix: RegExp): string[] {
  const dir = capturesDir();
  return realCaptures().filter((n) => prefix.test(n) && existsSync(join(dir, n, 'chunks.csv')));
}

/** Every src2dst record of a capture, ordered by the chunk in which its last byte arrived. */
export async function captureTimeline(name: string): Promise<CaptureEvent[]> {
  const capture = await openCapture(join(capturesDir(), name));
  // Per connection: chunk end offsets and their global sequence numbers.
  const chunks = new Map<number, Array<{ end: number; seq: number }>>();
  for await (const row of readChunks(capture.chunksPath!)) {
    if (row.dir !== 'src2dst') continue;
    const list = chunks.get(row.conn) ?? [];
    list.push({ end: row.offset + row.len, seq: row.seq });
    chunks.set(row.conn, list);
  }
  const arrival = (conn: number, lastByte: number): number => {
    const list = chunks.get(conn) ?? [];
    let lo = 0;
    let hi = list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((list[mid]?.end ?? 0) > lastByte) hi = mid;
      else lo = mid + 1;
    }
    return list[lo]?.seq ?? Number.MAX_SAFE_INTEGER;
  };
  const events: CaptureEvent[] = [];
  for (const ch of capture.channels) {
    if (ch.direction !== 'src2dst' || (ch.role !== 'main' && ch.role !== 'multifd')) continue;
    const parts: Uint8Array[] = [];
    for await (const p of ch.open()) parts.push(p);
    const bytes = Buffer.concat(parts);
    const conn = ch.conn;
    if (ch.role === 'main') {
      for (const record of decodeMainStream(bytes).records) events.push({ source: 'main', record, seq: arrival(conn, record.offset + record.length - 1) });
    } else {
      const { records } = decodeMultifdChannel(bytes);
      const init = records[0];
      const channel = init?.kind === 'multifd-init' ? init.channelId : -1; // map by id, not accept order
      for (const record of records) events.push({ source: 'multifd', channel, record, seq: arrival(conn, record.offset + record.length - 1) });
    }
  }
  return events.sort((a, b) => a.seq - b.seq || a.record.offset - b.record.offset);
}
