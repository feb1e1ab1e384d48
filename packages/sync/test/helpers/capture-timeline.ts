/** Rebuilds a shared capture's arrival order (chunks.csv) as one list of decoded records. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMainStream, decodeMultifdChannel, type MainRecord, type MultifdRecord } from '@migwire/stream-codec';

export type CaptureEvent =
  | { source: 'main'; record: MainRecord; seq: number }
  | { source: 'multifd'; channel: number; record: MultifdRecord; seq: number };

function sharedCapturesDir(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'pnpm-workspace.yaml'))) {
    const up = dirname(d);
    if (up === d) throw new Error('repository root not found');
    d = up;
  }
  return process.env['MIGWIRE_SHARED_CAPTURES'] ?? resolve(d, '..', 'shared', 'captures');
}

export function captureNames(prefix: RegExp): string[] {
  const dir = sharedCapturesDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => prefix.test(n) && existsSync(join(dir, n, 'chunks.csv'))).sort();
}

/** Every src2dst record of a capture, ordered by the chunk in which its last byte arrived. */
export function captureTimeline(name: string): CaptureEvent[] {
  const dir = join(sharedCapturesDir(), name);
  // Per connection: chunk end offsets and their global sequence numbers.
  const chunks = new Map<number, Array<{ end: number; seq: number }>>();
  for (const line of readFileSync(join(dir, 'chunks.csv'), 'utf8').trim().split('\n').slice(1)) {
    const [seq, , conn, direction, offset, len] = line.split(',');
    if (direction !== 'src2dst') continue;
    const list = chunks.get(Number(conn)) ?? [];
    list.push({ end: Number(offset) + Number(len), seq: Number(seq) });
    chunks.set(Number(conn), list);
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
  for (const f of readdirSync(dir)) {
    const m = /^conn(\d+)\.src2dst\.bin$/.exec(f);
    if (!m) continue;
    const conn = Number(m[1]);
    const bytes = readFileSync(join(dir, f));
    if (bytes.length < 4) continue;
    if (bytes.readUInt32BE(0) === 0x5145564d) {
      for (const record of decodeMainStream(bytes).records) events.push({ source: 'main', record, seq: arrival(conn, record.offset + record.length - 1) });
    } else if (bytes.readUInt32BE(0) === 0x11223344) {
      const { records } = decodeMultifdChannel(bytes);
      const init = records[0];
      const channel = init?.kind === 'multifd-init' ? init.channelId : -1; // map by id, not accept order
      for (const record of records) events.push({ source: 'multifd', channel, record, seq: arrival(conn, record.offset + record.length - 1) });
    }
  }
  return events.sort((a, b) => a.seq - b.seq || a.record.offset - b.record.offset);
}
