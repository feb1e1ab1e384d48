/**
 * RecordingProxy test bench: a destination server, the proxy in front of it (closed at teardown),
 * a writer that honours backpressure, and the checks of what the proxy recorded.
 */
import type { ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readChunks, type ChunkRow, type TcpProxyIndex } from '@migwire/capture';
import { RecordingProxy, type DirectionStats } from '../../src/index.js';
import { connectTo, HOST, readAll } from './sockets.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;

export const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mw-proxy-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestServer {
  server: Server;
  port: number;
  sockets: Socket[];
  /** "address:port" of each connection's remote end, in accept order. */
  peers: string[];
}

/** A destination on 127.0.0.1:0; `onConnection` gets each socket and its accept index. */
export async function startServer(t: ExecutionContext, onConnection: (s: Socket, index: number) => void): Promise<TestServer> {
  const sockets: Socket[] = [];
  const peers: string[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    peers.push(`${s.remoteAddress}:${s.remotePort}`);
    s.on('error', () => {});
    onConnection(s, sockets.length - 1);
  });
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { server, port: (server.address() as AddressInfo).port, sockets, peers };
}

export async function startProxy(t: ExecutionContext, targetPort: number, outDir?: string): Promise<{ proxy: RecordingProxy; port: number }> {
  const proxy = new RecordingProxy({ listen: { host: HOST, port: 0 }, target: { host: HOST, port: targetPort }, ...(outDir ? { outDir } : {}) });
  const { port } = await proxy.start();
  // A test that fails half-way must not leave the proxy listening: close it in the teardown
  // unless the test did (close() is not meant to be called twice).
  let closing: Promise<TcpProxyIndex> | undefined;
  const close = proxy.close.bind(proxy);
  proxy.close = (graceMs?: number) => (closing ??= close(graceMs));
  t.teardown(async () => {
    await (closing ?? close(0)).catch(() => {});
  });
  return { proxy, port };
}

/** Write `data` in `chunk`-sized writes, waiting for 'drain'; stops early when the socket dies. Returns bytes accepted. */
export async function writeAll(s: Socket, data: Buffer, chunk = 256 * KiB, stop: () => boolean = () => false): Promise<number> {
  let off = 0;
  while (off < data.length && !s.destroyed && !stop()) {
    const part = data.subarray(off, off + chunk);
    off += part.length;
    if (!s.write(part)) {
      await new Promise<void>((r) => {
        const done = (): void => {
          s.off('drain', done);
          s.off('close', done);
          r();
        };
        s.on('drain', done);
        s.on('close', done);
      });
    }
  }
  return off;
}

/** A destination that collects each connection's bytes and answers `reply(index, received)` once the source ends. */
export async function collectingServer(t: ExecutionContext, reply: (index: number, received: Buffer) => Buffer = () => Buffer.alloc(0)) {
  const received: Array<Promise<Buffer>> = [];
  const srv = await startServer(t, (s, i) => {
    received[i] = new Promise((resolve) => {
      const parts: Buffer[] = [];
      s.on('data', (b: Buffer) => parts.push(b));
      s.on('end', () => {
        const all = Buffer.concat(parts);
        s.end(reply(i, all));
        resolve(all);
      });
      s.on('close', () => resolve(Buffer.concat(parts)));
    });
  });
  return { ...srv, received };
}

/** A destination that reads slowly (a few ms' pause every `pauseEvery` bytes) and collects the first connection's bytes. */
export async function slowServer(t: ExecutionContext, pauseEvery: number, pauseMs: number): Promise<TestServer & { received: Promise<Buffer> }> {
  let resolve!: (b: Buffer) => void;
  const received = new Promise<Buffer>((r) => (resolve = r));
  const srv = await startServer(t, (s) => {
    const parts: Buffer[] = [];
    let since = 0;
    s.on('data', (b: Buffer) => {
      parts.push(b);
      if ((since += b.length) >= pauseEvery) {
        since = 0;
        s.pause();
        setTimeout(() => s.resume(), pauseMs);
      }
    });
    s.on('end', () => {
      resolve(Buffer.concat(parts));
      s.end();
    });
  });
  return { ...srv, received };
}

/** One source connection through the proxy: `data` sent in `chunk` writes, then ended; returns the proxy's index once closed. */
export async function sendThrough(proxy: RecordingProxy, port: number, data: Buffer, chunk: number): Promise<TcpProxyIndex> {
  const c = await connectTo(port);
  const back = readAll(c);
  await writeAll(c, data, chunk);
  c.end();
  await back;
  await proxy.allClosed();
  return proxy.close(1000);
}

export function readIndex(dir: string): TcpProxyIndex {
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as TcpProxyIndex;
}

/** chunks.csv through the capture package's reader (which also checks its header and rows). */
async function chunkRows(dir: string): Promise<ChunkRow[]> {
  const rows: ChunkRow[] = [];
  for await (const r of readChunks(join(dir, 'chunks.csv'))) rows.push(r);
  return rows;
}

/** chunks.csv rows tile each direction: contiguous offsets from 0, lengths summing to its byte count. */
export async function checkChunksTile(t: ExecutionContext, dir: string, index: TcpProxyIndex): Promise<void> {
  const rows = await chunkRows(dir);
  t.is(rows.length, index.chunk_count);
  t.deepEqual(
    rows.map((r) => r.seq),
    rows.map((_, i) => i),
    'seq numbers are 0..n-1 in order',
  );
  for (const c of index.connections) {
    for (const d of ['src2dst', 'dst2src'] as const) {
      const mine = rows.filter((r) => r.conn === c.id && r.dir === d);
      let next = 0;
      for (const r of mine) {
        if (r.offset !== next) {
          t.fail(`conn ${c.id} ${d}: chunk at ${r.offset}, expected ${next}`);
          return;
        }
        t.true(r.len > 0);
        next += r.len;
      }
      t.is(next, c.directions[d].bytes_received, `conn ${c.id} ${d}: chunks add up to the bytes received`);
    }
  }
}

/** The shared-format keys of one direction, and that it recorded `expected` exactly. */
export function checkDirection(t: ExecutionContext, dir: string, d: DirectionStats, expected: Buffer, endReason: string): void {
  t.like(d, {
    bytes_received: expected.length,
    bytes_written: expected.length,
    bytes_sent: expected.length,
    file_size: expected.length,
    recorded_equals_forwarded: true,
    sha256: sha(expected),
    head_hex: expected.subarray(0, 64).toString('hex'),
    end_reason: endReason,
  });
  const file = readFileSync(join(dir, d.file));
  t.is(file.length, expected.length, `${d.file} size`);
  t.true(file.equals(expected), `${d.file} holds exactly the bytes sent`);
  t.is(sha(file), d.sha256);
}
