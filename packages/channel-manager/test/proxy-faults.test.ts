/**
 * How each kind of failure ends a RecordingProxy recording: the source killed, the destination
 * refusing or resetting, a file that cannot be written. Every byte received stays on disk and
 * index.json says what went wrong.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { QEVM } from './helpers/bytes.js';
import { checkChunksTile, KiB, MiB, readIndex, sha, startProxy, startServer, tempDir, writeAll } from './helpers/proxy.js';
import { connectTo, deadPort, peerClosed } from './helpers/sockets.js';

test('a source killed mid-transfer: every byte received so far is on disk', async (t) => {
  const dir = tempDir(t);
  let atDestination = 0;
  const destinationParts: Buffer[] = [];
  const srv = await startServer(t, (s) => {
    s.on('data', (b: Buffer) => {
      atDestination += b.length;
      destinationParts.push(b);
    });
    s.on('end', () => s.end());
  });
  const { proxy, port } = await startProxy(t, srv.port, dir);
  const c = await connectTo(port);
  const data = Buffer.concat([QEVM, randomBytes(64 * MiB)]);
  // Kill the source once the destination has seen 2 MiB, in the middle of its writes.
  await writeAll(c, data, 64 * KiB, () => {
    if (atDestination >= 2 * MiB) c.destroy();
    return c.destroyed;
  });
  t.true(c.destroyed);
  await proxy.allClosed();
  const index = await proxy.close(1000);
  const d = index.connections[0]!.directions.src2dst;
  t.true(d.end_reason === 'eof' || d.end_reason === 'recv-error', `end_reason ${d.end_reason}`);
  t.true(d.bytes_received >= 2 * MiB && d.bytes_received < data.length, `${d.bytes_received} bytes received`);
  t.is(d.bytes_written, d.bytes_received);
  const file = readFileSync(join(dir, d.file));
  t.is(file.length, d.bytes_received);
  t.true(file.equals(data.subarray(0, file.length)), 'the file is exactly the start of what the source sent');
  t.is(sha(file), d.sha256);
  // What reached the destination is a prefix of the recording, and the count says how much.
  const dest = Buffer.concat(destinationParts);
  t.is(dest.length, d.bytes_sent);
  t.true(dest.equals(file.subarray(0, dest.length)));
  await checkChunksTile(t, dir, readIndex(dir));
});

test('a destination that refuses: connect_error, status target-refused, the source is closed', async (t) => {
  const dir = tempDir(t);
  const { proxy, port } = await startProxy(t, await deadPort(), dir);
  const c = await connectTo(port);
  const gone = peerClosed(c);
  c.write(QEVM);
  await gone;
  await proxy.allClosed();
  const index = await proxy.close(1000);
  const onDisk = readIndex(dir);
  t.is(onDisk.status, 'target-refused');
  t.is(index.status, 'target-refused');
  t.regex(onDisk.connections[0]!.connect_error ?? '', /ECONNREFUSED/);
  t.is(onDisk.connections[0]!.target_connected_at, null);
  t.not(onDisk.connections[0]!.closed_at, null);
  t.is(onDisk.connections[0]!.directions.src2dst.bytes_sent, 0);
  c.destroy();
});

test('a destination that resets mid-transfer: src2dst ends with send-error', async (t) => {
  const dir = tempDir(t);
  const srv = await startServer(t, (s) => {
    let n = 0;
    s.on('data', (b: Buffer) => {
      n += b.length;
      // Reset (RST) with data still unread.
      if (n >= 1 * MiB && !s.destroyed) s.resetAndDestroy();
    });
  });
  const { proxy, port } = await startProxy(t, srv.port, dir);
  const c = await connectTo(port);
  const gone = peerClosed(c);
  let closedBySource = false;
  void gone.then(() => (closedBySource = true));
  await writeAll(c, Buffer.concat([QEVM, randomBytes(32 * MiB)]), 256 * KiB, () => closedBySource);
  await gone;
  c.destroy();
  await proxy.allClosed();
  const index = await proxy.close(1000);
  const d = index.connections[0]!.directions.src2dst;
  t.is(d.end_reason, 'send-error');
  t.truthy(d.send_error);
  t.true(d.bytes_received >= 1 * MiB);
  t.is(d.bytes_written, d.bytes_received, 'what was received is still on disk');
  t.is(statSync(join(dir, d.file)).size, d.bytes_received);
  t.true(d.bytes_sent <= d.bytes_received);
});

test('a file that cannot be created (a link planted in its place): status recording-failed, a record-error event, the connections are closed', async (t) => {
  const dir = tempDir(t);
  let destinationClosed!: Promise<void>;
  const srv = await startServer(t, (s) => {
    s.resume();
    s.on('end', () => s.end());
    destinationClosed = new Promise((r) => s.on('close', () => r()));
  });
  const { proxy, port } = await startProxy(t, srv.port, dir);
  // A link where the first connection's upstream file goes: it is refused, never written through.
  // (A real full disk: tools/test/record-faults.test.ts on a small tmpfs.)
  symlinkSync('/dev/full', join(dir, 'conn00.src2dst.bin'));
  const recordError = once(proxy, 'record-error');
  const c = await connectTo(port);
  const gone = peerClosed(c);
  let closedBySource = false;
  void gone.then(() => (closedBySource = true));
  await writeAll(c, Buffer.concat([QEVM, randomBytes(16 * MiB)]), 256 * KiB, () => closedBySource);
  const [err] = (await recordError) as [Error];
  t.regex(err.message, /symbolic link/);
  await gone;
  await proxy.allClosed();
  t.is(srv.sockets.length, 1);
  await destinationClosed; // (the test times out if the proxy left the destination open)
  c.destroy();
  const index = await proxy.close(1000);
  const onDisk = readIndex(dir);
  t.is(index.status, 'recording-failed');
  t.is(onDisk.status, 'recording-failed');
  t.regex(onDisk.failure ?? '', /symbolic link/);
  t.regex(onDisk.connections[0]!.directions.src2dst.write_error ?? '', /symbolic link/);
  t.is(onDisk.connections[0]!.directions.src2dst.end_reason, 'write-error', 'a refused file is a write error, not a receive error');
  t.false(onDisk.all_recorded_equals_forwarded);
  t.not(onDisk.connections[0]!.closed_at, null);
});
