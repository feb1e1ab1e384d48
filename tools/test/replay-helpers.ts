/** What the replay tests share: a fake destination, deterministic bytes, a capture directory made to order. */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Seen {
  id: number;
  bytes: Buffer[];
  ended: boolean;
}

/** A fake destination: accepts connections, keeps what each sends, in arrival order of chunks. */
export class FakeDestination {
  readonly conns: Seen[] = [];
  /** Connection id of every chunk, in arrival order. */
  readonly arrivals: number[] = [];
  private server: Server;
  constructor(private readonly onConn: (s: Socket, seen: Seen) => void = () => {}) {
    this.server = createServer({ allowHalfOpen: true }, (s) => {
      const seen: Seen = { id: this.conns.length, bytes: [], ended: false };
      this.conns.push(seen);
      s.on('data', (b: Buffer) => {
        seen.bytes.push(b);
        if (this.arrivals.at(-1) !== seen.id) this.arrivals.push(seen.id);
      });
      s.on('end', () => {
        seen.ended = true;
        s.end();
      });
      s.on('error', () => {});
      this.onConn(s, seen);
    });
  }
  async start(): Promise<{ host: string; port: number }> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return { host: '127.0.0.1', port: (this.server.address() as AddressInfo).port };
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

export const QEVM = Buffer.from('QEVM\0\0\0\x03', 'latin1');
export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export function bytes(n: number, seed: number, head?: Buffer): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  if (head) head.copy(b);
  return b;
}

/** A capture directory: files per connection, index.json with accept times, optional chunks.csv. */
export function makeCapture(conns: Array<{ src: Buffer; dst?: Buffer; acceptedAt?: number }>, chunks?: Array<[t: number, conn: number, len: number]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mw-replay-'));
  conns.forEach((c, i) => {
    const nn = String(i).padStart(2, '0');
    writeFileSync(join(dir, `conn${nn}.src2dst.bin`), c.src);
    writeFileSync(join(dir, `conn${nn}.dst2src.bin`), c.dst ?? Buffer.alloc(0));
  });
  const index = {
    format: 'qemu-migration-capture/tcp-proxy/1',
    connections: conns.map((c, i) => ({ id: i, accepted_at: c.acceptedAt ?? 0, directions: { src2dst: { end_reason: 'eof', ended_at: null }, dst2src: {} } })),
  };
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  if (chunks) {
    const off = new Map<number, number>();
    const rows = ['seq,t,conn,dir,offset,len'];
    chunks.forEach(([t, conn, len], seq) => {
      const o = off.get(conn) ?? 0;
      rows.push(`${seq},${t},${conn},src2dst,${o},${len}`);
      off.set(conn, o + len);
    });
    writeFileSync(join(dir, 'chunks.csv'), rows.join('\n') + '\n');
  }
  return dir;
}
