/**
 * RecordingProxy between a test client (the migration source) and a test server (the
 * destination), all on loopback: every byte forwarded and recorded in the shared capture format,
 * outbound connections in inbound order, half-close passed on, backpressure (no unbounded
 * buffering), the blind mode (no outDir), and the DirectionRecorder's waits on its file.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TcpProxyIndex } from '@migwire/capture';
import { DEFAULT_FILE_BUFFER_BYTES, DirectionRecorder } from '../src/index.js';
import { multifdInit, QEVM } from './helpers/bytes.js';
import { checkChunksTile, checkDirection, collectingServer, KiB, MiB, readIndex, sha, startProxy, startServer, tempDir, writeAll } from './helpers/proxy.js';
import { connectTo, readAll } from './helpers/sockets.js';

test('forwards and records both directions exactly (files, sha256, index.json, chunks.csv)', async (t) => {
  const dir = tempDir(t);
  const up = [Buffer.concat([QEVM, randomBytes(3 * MiB)]), Buffer.concat([multifdInit(0), randomBytes(2 * MiB + 123)])];
  const down = [randomBytes(1 * MiB + 7), Buffer.alloc(0)];
  const srv = await collectingServer(t, (i) => down[i]!);
  const { proxy, port } = await startProxy(t, srv.port, dir);

  const got: Buffer[] = [];
  for (let i = 0; i < up.length; i++) {
    const c = await connectTo(port);
    const back = readAll(c);
    await writeAll(c, up[i]!, 64 * KiB);
    c.end();
    got.push(await back);
  }
  t.true((await srv.received[0]!).equals(up[0]!), 'destination got the main stream');
  t.true((await srv.received[1]!).equals(up[1]!), 'destination got the multifd stream');
  t.true(got[0]!.equals(down[0]!), 'source got the reply');
  t.is(got[1]!.length, 0);

  await proxy.allClosed();
  const index = await proxy.close(1000);
  const onDisk = readIndex(dir);
  t.deepEqual(onDisk, JSON.parse(JSON.stringify(index)) as TcpProxyIndex, 'index.json is what close() returned');
  t.is(onDisk.format, 'qemu-migration-capture/tcp-proxy/1');
  t.is(onDisk.status, 'complete');
  t.true(onDisk.all_recorded_equals_forwarded);
  t.is(onDisk.connection_count, 2);
  t.is(onDisk.chunks_file, 'chunks.csv');
  t.deepEqual(
    onDisk.connections.map((c) => [c.id, c.role, c.multifdId, c.connect_error, c.forced_close]),
    [
      [0, 'main', undefined, null, false],
      [1, 'multifd', 0, null, false],
    ],
  );
  for (let i = 0; i < 2; i++) {
    const c = onDisk.connections[i]!;
    t.is(c.directions.src2dst.file, `conn0${i}.src2dst.bin`);
    t.is(c.directions.dst2src.file, `conn0${i}.dst2src.bin`);
    checkDirection(t, dir, c.directions.src2dst, up[i]!, 'eof');
    checkDirection(t, dir, c.directions.dst2src, down[i]!, 'eof');
  }
  t.is(onDisk.roles[0]!.src2dst_first4, '5145564d');
  t.is(onDisk.roles[1]!.multifd_channel_id, 0);
  await checkChunksTile(t, dir, onDisk);
});

test('outbound connections are opened in the inbound order', async (t) => {
  const dir = tempDir(t);
  const N = 6;
  const srv = await collectingServer(t);
  const { proxy, port } = await startProxy(t, srv.port, dir);
  // All sources connect at once; whatever order the proxy accepts them in, the destination must see the same.
  const payloads = Array.from({ length: N }, (_, i) => Buffer.concat([multifdInit(i), randomBytes(4 * KiB + i)]));
  const clients = await Promise.all(payloads.map(() => connectTo(port)));
  await Promise.all(
    clients.map(async (c, i) => {
      const back = readAll(c);
      c.end(payloads[i]!);
      await back;
    }),
  );
  await proxy.allClosed();
  const index = await proxy.close(1000);
  t.is(index.connection_count, N);
  t.is(srv.sockets.length, N);
  for (let k = 0; k < N; k++) {
    const recorded = readFileSync(join(dir, `conn0${k}.src2dst.bin`));
    const atDestination = await srv.received[k]!;
    t.true(atDestination.equals(recorded), `destination's connection ${k} carries proxy connection ${k}`);
    t.is(index.connections[k]!.target_local, srv.peers[k]!);
  }
  const connectedAt = index.connections.map((c) => c.target_connected_at!);
  t.deepEqual(
    connectedAt,
    [...connectedAt].sort((a, b) => a - b),
  );
  // Every source's bytes arrived once, each with its own multifd id.
  t.deepEqual(
    index.connections.map((c) => c.multifdId).sort(),
    Array.from({ length: N }, (_, i) => i),
  );
});

test('half-close is passed on: the source ends, the destination sees end and can still answer', async (t) => {
  const dir = tempDir(t);
  let sawEndBeforeReply = false;
  const answer = Buffer.from('answer written after the source ended');
  const srv = await startServer(t, (s) => {
    s.resume();
    s.on('end', () => {
      sawEndBeforeReply = true;
      // Answer a little later: the way back must still be open.
      setTimeout(() => s.end(answer), 30);
    });
  });
  const { proxy, port } = await startProxy(t, srv.port, dir);
  const c = await connectTo(port);
  const back = readAll(c);
  c.end(Buffer.concat([QEVM, Buffer.from('then nothing more')]));
  const got = await back;
  t.true(sawEndBeforeReply);
  t.true(got.equals(answer));
  await proxy.allClosed();
  const index = await proxy.close(1000);
  t.is(index.connections[0]!.directions.src2dst.end_reason, 'eof');
  t.is(index.connections[0]!.directions.dst2src.end_reason, 'eof');
  t.true(index.connections[0]!.directions.src2dst.ended_at! <= index.connections[0]!.directions.dst2src.ended_at!);
  checkDirection(t, dir, index.connections[0]!.directions.dst2src, answer, 'eof');
});

// Serial: it measures process memory, which the concurrent tests would disturb.
test.serial('backpressure: a slow destination keeps the proxy from buffering (200 MiB through, a few MiB held)', async (t) => {
  const dir = tempDir(t);
  const TOTAL = 200 * MiB;
  let atDestination = 0;
  const srv = await startServer(t, (s) => {
    let sincePause = 0;
    s.on('data', (b: Buffer) => {
      atDestination += b.length;
      sincePause += b.length;
      // Read 4 MiB, then stop reading for a few ms: at most ~500 MiB/s, well below what the source can send.
      if (sincePause >= 4 * MiB) {
        sincePause = 0;
        s.pause();
        setTimeout(() => s.resume(), 8);
      }
    });
    s.on('end', () => s.end());
  });
  const { proxy, port } = await startProxy(t, srv.port, dir);
  const c = await connectTo(port);
  const back = readAll(c);
  const block = randomBytes(256 * KiB);
  const data = Buffer.alloc(8 * MiB);
  for (let o = 0; o < data.length; o += block.length) block.copy(data, o);

  // The proxy's own state: bytes it received but has not yet handed to the destination socket
  // (or to its file). progress() gives what it received; the rest is read from its connection
  // record, which is private (a test looking inside on purpose).
  type Internal = { conns: Array<{ up: { received: number; sent: number; written: number } }> };
  const internal = proxy as unknown as Internal;
  let maxHeld = 0;
  let maxFileLag = 0;
  let maxBeyondProxy = 0;
  const ab0 = process.memoryUsage().arrayBuffers;
  let maxAb = ab0;
  const sampler = setInterval(() => {
    const up = internal.conns[0]?.up;
    if (!up) return;
    maxHeld = Math.max(maxHeld, up.received - up.sent);
    maxFileLag = Math.max(maxFileLag, up.received - up.written);
    // Public view: received by the proxy minus read by the destination (includes the kernel's socket buffers).
    maxBeyondProxy = Math.max(maxBeyondProxy, (proxy.progress().connections[0]?.src2dst ?? 0) - atDestination);
    maxAb = Math.max(maxAb, process.memoryUsage().arrayBuffers);
  }, 2);
  try {
    let sent = 0;
    while (sent < TOTAL) sent += await writeAll(c, data);
    c.end();
    await back;
  } finally {
    clearInterval(sampler);
  }
  t.is(atDestination, TOTAL);
  await proxy.allClosed();
  const index = await proxy.close(1000);
  const d = index.connections[0]!.directions.src2dst;
  t.is(d.bytes_received, TOTAL);
  t.is(d.bytes_sent, TOTAL);
  t.is(d.bytes_written, TOTAL);
  t.is(statSync(join(dir, d.file)).size, TOTAL);
  t.log(
    `max held in the proxy ${(maxHeld / MiB).toFixed(2)} MiB, file lag ${(maxFileLag / MiB).toFixed(2)} MiB, ` +
      `received by the proxy but not read by the destination ${(maxBeyondProxy / MiB).toFixed(1)} MiB, arrayBuffers +${((maxAb - ab0) / MiB).toFixed(1)} MiB`,
  );
  t.true(maxHeld < 4 * MiB, `the proxy held ${maxHeld} bytes not yet given to the destination`);
  // The file may lag by its buffer (per direction) plus the chunk in hand: bounded, not by the stream.
  t.true(maxFileLag < DEFAULT_FILE_BUFFER_BYTES + 4 * MiB, `the proxy held ${maxFileLag} bytes not yet written to its file`);
  // Kernel buffers (proxy send + destination receive, autotuned) are bounded; a few MiB here.
  t.true(maxBeyondProxy < 24 * MiB, `${maxBeyondProxy} bytes between proxy and destination`);
  t.true(maxAb - ab0 < 96 * MiB, `external memory grew by ${maxAb - ab0} bytes`);
});

// ---------------------------------------------------------------------------------------------
// Blind mode

test('blind mode (no outDir) forwards both ways and writes no files', async (t) => {
  const before = new Set(readdirSync(process.cwd()));
  const up = Buffer.concat([QEVM, randomBytes(2 * MiB)]);
  const down = randomBytes(512 * KiB);
  const srv = await collectingServer(t, () => down);
  const { proxy, port } = await startProxy(t, srv.port);
  const c = await connectTo(port);
  const back = readAll(c);
  await writeAll(c, up);
  c.end();
  t.true((await back).equals(down));
  t.true((await srv.received[0]!).equals(up));
  await proxy.allClosed();
  const index = await proxy.close(1000);
  t.is(index.status, 'complete');
  t.is(index.connections[0]!.role, 'main');
  t.is(index.connections[0]!.directions.src2dst.bytes_sent, up.length);
  // Nothing recorded, so nothing hashed: the digest is of the recorded file, computed at close.
  t.is(index.connections[0]!.directions.src2dst.sha256, '');
  t.true(index.connections[0]!.directions.src2dst.recorded_equals_forwarded);
  t.is(index.connections[0]!.directions.dst2src.bytes_sent, down.length);
  void sha;
  const after = readdirSync(process.cwd()).filter((f) => !before.has(f));
  t.deepEqual(after, [], 'nothing new in the working directory');
  t.false(existsSync(join(process.cwd(), 'chunks.csv')));
  t.false(existsSync(join(process.cwd(), 'index.json')));
});

// ---------------------------------------------------------------------------------------------
// DirectionRecorder

// BUG: DirectionRecorder.drained() adds `this.out.once('error', ...)` every time the reader has to
// wait for the file and never removes it when 'drain' comes first, so a long recording piles up
// one 'error' listener per pause (Node prints MaxListenersExceededWarning after 10; a 100 GiB
// migration accumulates tens of thousands). Fix: in drained(), remove the other listener when
// either fires: const done = () => { out.off('drain', done); out.off('error', done); resolve(); };
// out.once('drain', done); out.once('error', done).
test('direction recorder: a file far behind makes every write wait, and keeps every byte in order', async (t) => {
  const dir = tempDir(t);
  const rec = new DirectionRecorder('src2dst', 'conn00.src2dst.bin', join(dir, 'conn00.src2dst.bin'));
  let waits = 0;
  const sent: Buffer[] = [];
  for (let i = 0; i < 8; i++) {
    const chunk = Buffer.alloc(2 * DEFAULT_FILE_BUFFER_BYTES, i); // bigger than the file's buffer
    sent.push(chunk);
    if (!rec.record(chunk, i)) {
      waits++;
      await rec.drained();
    }
  }
  await rec.close();
  t.is(waits, 8);
  t.is(rec.stats().bytes_written, 8 * 2 * DEFAULT_FILE_BUFFER_BYTES);
  t.is(sha(readFileSync(join(dir, 'conn00.src2dst.bin'))), sha(Buffer.concat(sent)));
});
