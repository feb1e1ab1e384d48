/**
 * replay and transcode against a destination that accepts and never reads: both end at their
 * --timeout with a report naming the bytes stuck per channel (issue 13, item 1).
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, MemoryOutput } from '../src/index.js';
import { FIXTURES } from './paths.js';

/** A destination that accepts every connection and never reads a byte. */
async function deafDestination(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
    s.on('error', () => {});
    sockets.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

function stop(d: { server: Server; sockets: Socket[] }): void {
  for (const s of d.sockets) s.destroy();
  d.server.close();
}

test('replay into a destination that never reads ends at --timeout with the bytes stuck per connection', async (t) => {
  t.timeout(20_000);
  const dir = mkdtempSync(join(tmpdir(), 'mw-deaf-'));
  const big = Buffer.alloc(48 * 1024 * 1024, 0x5a);
  Buffer.from('QEVM\0\0\0\x03', 'latin1').copy(big);
  writeFileSync(join(dir, 'conn00.src2dst.bin'), big);
  writeFileSync(join(dir, 'conn00.dst2src.bin'), Buffer.alloc(0));
  const d = await deafDestination();
  try {
    const out = new MemoryOutput();
    const t0 = Date.now();
    const code = await main(['replay', dir, '--target', `127.0.0.1:${d.port}`, '--timeout', '1500', '--quiet'], out);
    const took = Date.now() - t0;
    t.is(code, 1);
    t.true(took < 5000, `ended ${took} ms after starting (timeout 1500 ms)`);
    const text = out.lines.join('\n');
    t.regex(text, /timed out after 1500 ms/);
    const stuck = /conn00 .* (\d+) B stuck/.exec(text);
    t.truthy(stuck, text);
    t.true(Number(stuck![1]) > 0);
  } finally {
    stop(d);
  }
});

test('transcode into a destination that never reads ends at --timeout naming the bytes stuck per channel', async (t) => {
  t.timeout(30_000);
  const d = await deafDestination();
  try {
    const out = new MemoryOutput();
    const t0 = Date.now();
    const code = await main(['transcode', join(FIXTURES, '10.0-precopy-tcp'), '--target', `127.0.0.1:${d.port}`, '--channels', '2', '--timeout', '1500', '--quiet'], out);
    const took = Date.now() - t0;
    t.is(code, 1);
    t.true(took < 8000, `ended ${took} ms after starting (timeout 1500 ms)`);
    t.regex(out.errors.join('\n'), /stuck in the send queue: main \d+ B, multifd 0 \d+ B, multifd 1 \d+ B/);
  } finally {
    stop(d);
  }
});
