/**
 * `migwire record` under faults, run as the CLI (issue 13, items 2, 3 and 11): a stop signal ends
 * the recording at once whatever the connections are doing; a full disk leaves an index.json that
 * parses and names the shortfall; a destination killed mid-stream gives exit 1 whatever the timing.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readCaptureIndex, type TcpProxyIndex } from '@migwire/capture';
import { BIN } from './paths.js';
import { smallTmpfs, unmount } from './helpers/tmpfs.js';
import { destination, exitWithin, pushUntil, QEVM, source, startRecord } from './helpers/record-cli.js';

const MiB = 1024 * 1024;
const chunk = (n: number): Buffer => Buffer.concat([QEVM, Buffer.alloc(n - QEVM.length, 0xa5)]);

function readIndex(dir: string): TcpProxyIndex {
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as TcpProxyIndex;
}

test('SIGINT with stalled, flowing and idle connections: stops within 2 s, index.json status stopped, exit 1', async (t) => {
  t.timeout(20_000);
  const out = join(mkdtempSync(join(tmpdir(), 'mw-rec-sig-')), 'cap');
  t.teardown(() => rmSync(dirname(out), { recursive: true, force: true }));
  // conn 0: the destination never reads (stalled); conn 1: it reads (flowing); conn 2: nothing is sent (idle).
  let accepted = 0;
  const dst = await destination((s) => {
    if (accepted++ === 1) s.resume();
  });
  const rec = await startRecord(dst.port, out);
  let stop = false;
  const stalled = await source(rec.port);
  void pushUntil(stalled, chunk(256 * 1024), () => stop);
  const flowing = await source(rec.port);
  void pushUntil(flowing, chunk(64 * 1024), () => stop);
  const idle = await source(rec.port);
  while (dst.sockets.length < 3) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  rec.child.kill('SIGINT');
  const { code, at } = await exitWithin(rec, 10_000);
  stop = true;
  for (const s of [stalled, flowing, idle]) s.destroy();
  dst.close();
  t.true(at - t0 < 2000, `record ended ${at - t0} ms after SIGINT`);
  t.is(code, 1, 'connections were cut short');
  const index = readIndex(out);
  t.is(index.status, 'stopped');
  t.is(index.connection_count, 3);
  for (const c of index.connections) {
    t.true(c.forced_close, `conn ${c.id} closed at stop`);
    t.is(c.directions.src2dst.end_reason, 'forced');
    t.is(c.directions.src2dst.bytes_written, c.directions.src2dst.bytes_received, 'everything received is on disk');
  }
  t.true(index.connections[0]!.directions.src2dst.bytes_received > 0);
  t.true(index.connections[1]!.directions.src2dst.bytes_received > index.connections[0]!.directions.src2dst.bytes_received, 'the flowing connection moved more');
  t.is(index.connections[2]!.directions.src2dst.bytes_received, 0);
  t.regex(rec.stdout(), /recording INCOMPLETE: .*stopped with connections open/);
  t.notRegex(rec.stderr(), /\n\s+at /, 'no stack trace');
});

test('a destination killed mid-stream gives exit 1 whatever the timing', async (t) => {
  t.timeout(30_000);
  // After all it was sent (the kernel took every byte: counts equal), and while bytes still flow.
  for (const killAfter of [64 * 1024, 1 * MiB]) {
    const out = join(mkdtempSync(join(tmpdir(), 'mw-rec-kill-')), 'cap');
    t.teardown(() => rmSync(dirname(out), { recursive: true, force: true }));
    const dst = await destination((s) => {
      let n = 0;
      s.on('data', (b: Buffer) => {
        n += b.length;
        if (n >= killAfter && !s.destroyed) s.resetAndDestroy();
      });
      s.resume();
    });
    const rec = await startRecord(dst.port, out, ['--exit-when-idle', '200']);
    // A failed run leaves neither the recorder nor the destination behind (ava would not exit).
    t.teardown(() => {
      if (rec.child.exitCode === null) rec.child.kill('SIGKILL');
      dst.close();
    });
    const src = await source(rec.port);
    const total = killAfter === 64 * 1024 ? 64 * 1024 : 8 * MiB;
    let sent = 0;
    await pushUntil(src, chunk(64 * 1024), () => (sent += 64 * 1024) > total);
    // The source notices the close (end, or the reset the recorder passes on) and closes its side.
    if (!src.destroyed) await new Promise((r) => ['end', 'close', 'error'].forEach((e) => src.once(e, r)));
    src.destroy();
    const { code } = await exitWithin(rec, 10_000);
    dst.close();
    t.is(code, 1, `destination killed after ${killAfter} B: ${rec.stdout()}`);
    t.notRegex(rec.stdout(), /MISMATCH: \{|INCOMPLETE \(complete\)/);
    t.regex(rec.stdout(), /recording INCOMPLETE: conn00 (was cut|lost bytes)/);
    t.regex(rec.stderr(), /^migwire: recording incomplete: conn00 (was cut|lost bytes)/m, 'the reason is the error line on stderr too');
  }
});

for (const extra of [[], ['--direct-io']]) {
test.serial(`disk full under record --out${extra.length ? ` ${extra.join(' ')}` : ''}: index.json parses, the shortfall is named per connection, exit 1, no stack trace`, async (t) => {
  t.timeout(30_000);
  const mnt = smallTmpfs(t, '8m');
  if (!mnt) return;
  try {
    const out = join(mnt, 'cap');
    const dst = await destination((s) => s.resume());
    const rec = await startRecord(dst.port, out, ['--exit-when-idle', '200', ...extra]);
    const src = await source(rec.port);
    let pushed = 0;
    await pushUntil(src, chunk(256 * 1024), () => (pushed += 256 * 1024) > 20 * MiB);
    src.destroy();
    const { code } = await exitWithin(rec, 10_000);
    dst.close();
    t.is(code, 1);
    t.notRegex(rec.stderr() + rec.stdout(), /\n\s+at \S+ \(|\n\s+at (file|node):/, 'no stack trace');
    const index = readIndex(out); // parses
    t.is(index.status, 'recording-failed');
    t.regex(index.failure ?? '', /ENOSPC|no space/i);
    const up = index.connections[0]!.directions.src2dst;
    t.is(up.end_reason, 'write-error', 'a refused write is a write error, not a receive error');
    t.is(up.recv_error, null);
    t.true((up.bytes_not_written ?? 0) > 0, `received ${up.bytes_received}, written ${up.bytes_written}`);
    t.is(up.bytes_not_written, up.bytes_received - up.bytes_written);
    // What is on disk is the stream's first bytes_written bytes: no gap a refused write left behind.
    const onDisk = readFileSync(join(out, up.file));
    t.is(onDisk.length, up.bytes_written);
    const sent = chunk(256 * 1024);
    let same = true;
    for (let at = 0; at < onDisk.length && same; at += sent.length) same = onDisk.subarray(at, at + sent.length).equals(sent.subarray(0, Math.min(sent.length, onDisk.length - at)));
    t.true(same, 'the file is a prefix of the stream');
    t.regex(rec.stdout(), new RegExp(`conn00 .*SHORTFALL: src->dst received ${up.bytes_received}, forwarded ${up.bytes_sent}, written ${up.bytes_written} \\(${up.bytes_not_written} B not on disk`));
    t.regex(rec.stdout(), /recording FAILED: writing connection 0 failed: .*(ENOSPC|no space)/i);
    t.notRegex(rec.stdout(), /MISMATCH: \{|INCOMPLETE \(complete\)/);
    // dump and check read the result without tripping over it.
    for (const cmd of ['dump', 'check']) {
      const r = spawnSync(process.execPath, [BIN, cmd, out], { encoding: 'utf8', maxBuffer: 64 * MiB });
      t.notRegex(r.stderr, /SyntaxError|JSON\.parse|\n\s+at /, `${cmd}: ${r.stderr}`);
    }
  } finally {
    unmount(mnt);
  }
});
}

test('a broken index.json is a typed one-line error for dump and check, not a JSON.parse crash', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-badindex-'));
  mkdirSync(join(dir, 'x'));
  const cap = join(dir, 'x');
  spawnSync('sh', ['-c', `printf 'QEVM\\0\\0\\0\\3' > ${cap}/conn00.src2dst.bin; : > ${cap}/conn00.dst2src.bin; printf '{"format": "qemu-mig' > ${cap}/index.json`]);
  t.throws(() => readCaptureIndex(cap), { name: 'CaptureError', message: /index\.json: not JSON/ });
  for (const cmd of ['dump', 'check']) {
    const r = spawnSync(process.execPath, [BIN, cmd, cap], { encoding: 'utf8' });
    t.not(r.status, 0);
    t.regex(r.stderr, /^migwire: .*index\.json: not JSON/m);
    t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('record --check over connections of random bytes: not a migration, exit 1, never "every rule holds"', async (t) => {
  t.timeout(20_000);
  const out = join(mkdtempSync(join(tmpdir(), 'mw-rec-rand-')), 'cap');
  t.teardown(() => rmSync(dirname(out), { recursive: true, force: true }));
  const dst = await destination((s) => {
    s.resume();
    s.on('end', () => s.end());
  });
  const rec = await startRecord(dst.port, out, ['--check', '--exit-when-idle', '300']);
  for (let i = 0; i < 2; i++) {
    const s = await source(rec.port);
    s.end(Buffer.from(Array.from({ length: 100_000 }, (_, k) => (k * 7919 + i * 31) & 0xff)));
  }
  const { code } = await exitWithin(rec, 10_000);
  dst.close();
  t.is(code, 1);
  t.notRegex(rec.stdout(), /every rule holds/);
  t.regex(rec.stdout(), /FAIL decodes/);
});
