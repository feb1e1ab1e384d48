/**
 * migwire replay against a local TCP server standing in for the destination (no QEMU): connection
 * order, every byte sent in order and half-closed, recorded timing keeps the cross-connection
 * order of chunks.csv, the return path compared, failures reported with per-connection offsets,
 * --out written as a capture.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '@migwire/capture';
import { main, MemoryOutput, recordedTlsTerminated, replayCapture } from '../src/index.js';
import { readSchedule, ReplayClock } from '../src/replay/schedule.js';
import { ReturnPathLog, compareReturnPaths } from '../src/replay/return-path.js';
import { bytes, FakeDestination, makeCapture, QEVM, sha } from './replay-helpers.js';

test('fast: connections opened in recorded order, every byte sent in order, half-closed; accepted without QMP', async (t) => {
  const src = [bytes(3_000_000, 1, QEVM), bytes(500_000, 2, Buffer.from([0x11, 0x22, 0x33, 0x44])), bytes(70_000, 3, Buffer.from([0x11, 0x22, 0x33, 0x44]))];
  const dir = makeCapture(src.map((s) => ({ src: s })));
  const dst = new FakeDestination();
  const target = await dst.start();
  try {
    const progress: number[] = [];
    const r = await replayCapture(dir, { target, idleTimeoutMs: 300, onProgress: (p) => progress.push(p.connections[0]!.sent) });
    t.is(r.outcome, 'accepted', r.reason ?? '');
    t.true(r.ok);
    t.is(r.timing, 'fast');
    t.is(dst.conns.length, 3);
    for (let i = 0; i < 3; i++) {
      t.is(sha(Buffer.concat(dst.conns[i]!.bytes)), sha(src[i]!), `connection ${i} got exactly its bytes`);
      t.true(dst.conns[i]!.ended, `connection ${i} half-closed`);
      t.is(r.connections[i]!.bytesSent, src[i]!.length);
      t.is(r.connections[i]!.bytesToSend, src[i]!.length);
      t.is(r.connections[i]!.end, 'half-closed');
    }
    t.deepEqual(r.connections.map((c) => c.role), ['main', 'multifd', 'multifd']);
    t.is(progress.at(-1), src[0]!.length, 'the last progress report shows everything sent');
  } finally {
    await dst.close();
  }
});

test('recorded timing: chunks go out in the cross-connection order of chunks.csv', async (t) => {
  // main 0..2 interleaved with a "preempt" connection; gaps of 0.25 s at speed 1.
  const main = bytes(3000, 5, QEVM);
  const pre = bytes(2000, 6);
  const dir = makeCapture(
    [{ src: main, acceptedAt: 10 }, { src: pre, acceptedAt: 10.2 }],
    [[10.0, 0, 1000], [10.25, 1, 1000], [10.5, 0, 1000], [10.75, 1, 1000], [11.0, 0, 1000]],
  );
  const dst = new FakeDestination();
  const target = await dst.start();
  try {
    const r = await replayCapture(dir, { target, timing: 'recorded', idleTimeoutMs: 300 });
    t.is(r.outcome, 'accepted', r.reason ?? '');
    t.deepEqual(dst.arrivals, [0, 1, 0, 1, 0]);
    t.is(Buffer.concat(dst.conns[0]!.bytes).compare(main), 0);
    t.is(Buffer.concat(dst.conns[1]!.bytes).compare(pre), 0);
  } finally {
    await dst.close();
  }
});

test('a recorded connection the destination never saw (connect_error) is not opened', async (t) => {
  const dir = makeCapture([{ src: bytes(5000, 1, QEVM) }, { src: Buffer.alloc(0) }]);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { connections: Array<Record<string, unknown>> };
  index.connections[1]!['connect_error'] = 'connect ECONNREFUSED';
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  const dst = new FakeDestination();
  const target = await dst.start();
  try {
    const r = await replayCapture(dir, { target, idleTimeoutMs: 300 });
    t.true(r.ok, r.reason ?? '');
    t.is(dst.conns.length, 1);
    t.is(r.connections.length, 1);
  } finally {
    await dst.close();
  }
});

test('--speed scales recorded time: 40 s of recorded gaps at --speed 80 keep their order and finish', async (t) => {
  const dir = makeCapture(
    [{ src: bytes(2000, 1, QEVM), acceptedAt: 0 }, { src: bytes(1000, 2), acceptedAt: 10 }],
    [[0, 0, 1000], [20, 1, 1000], [40, 0, 1000]],
  );
  const dst = new FakeDestination();
  const target = await dst.start();
  try {
    // 250 ms between chunks after scaling: wide enough that a loaded machine keeps the order.
    const r = await replayCapture(dir, { target, speed: 80, idleTimeoutMs: 1000 });
    t.is(r.timing, 'recorded', '--speed implies recorded timing');
    t.is(r.outcome, 'accepted', r.reason ?? '');
    t.deepEqual(dst.arrivals, [0, 1, 0]);
  } finally {
    await dst.close();
  }
});

test('recorded timing needs chunks.csv; --speed must be positive', async (t) => {
  const dir = makeCapture([{ src: bytes(100, 1, QEVM) }]);
  await t.throwsAsync(replayCapture(dir, { target: { host: '127.0.0.1', port: 1 }, timing: 'recorded' }), { message: /chunks\.csv/ });
  await t.throwsAsync(replayCapture(dir, { target: { host: '127.0.0.1', port: 1 }, speed: 0, timing: 'fast' }), { message: /speed/ });
  await t.throwsAsync(replayCapture(dir, { target: { host: '127.0.0.1', port: 1 }, speed: 2, timing: 'fast' }), { message: /goes with --timing recorded/ });
  await t.throwsAsync(replayCapture(dir, { target: { host: '127.0.0.1', port: 1 }, speed: 2 }), { message: /chunks\.csv/ }, '--speed implies recorded timing');
  await t.throwsAsync(replayCapture(dir, { target: { host: '127.0.0.1', port: 1 }, qmpSocket: join(dir, 'no.sock') }), { message: /--qmp .*no such socket/ });
  await t.throwsAsync(replayCapture(dir, { target: { host: '127.0.0.1', port: 1 }, qmpSocket: join(dir, 'index.json') }), { message: /--qmp .*not a unix socket/ });
});

test('chunks.csv: rows that do not follow each other are rejected with their line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-sched-'));
  const p = join(dir, 'chunks.csv');
  writeFileSync(p, 'seq,t,conn,dir,offset,len\n0,0.1,0,src2dst,0,10\n1,0.2,0,dst2src,0,4\n2,0.3,0,src2dst,12,5\n');
  await t.throwsAsync(readSchedule(p), { message: /line 4: connection 0 src2dst chunk at offset 12, expected 10 \(chunks must follow each other\)/ });
  writeFileSync(p, 'seq,t,conn,dir,offset,len\n0,0.1,0,src2dst,0,99999999999\n');
  await t.throwsAsync(readSchedule(p), { message: /line 2: bad row/ });
  writeFileSync(p, 'seq,t,conn,dir,offset,len\n0,0.1,0,src2dst,0,10\n1,0.2,1,src2dst,0,3\n2,0.3,0,src2dst,10,5\n');
  const s = await readSchedule(p);
  t.deepEqual(s.get(0), { t: [0.1, 0.3], offset: [0, 10], len: [10, 5] });
  t.deepEqual(s.get(1)?.len, [3]);
});

test('the replay clock maps recorded seconds to replay seconds, scaled by speed', (t) => {
  const c = new ReplayClock(10, 4);
  t.is(c.at(10), 0);
  t.is(c.at(12), 0.5);
  t.is(c.at(9), 0, 'times before the start are due at once');
  t.throws(() => new ReplayClock(0, -1));
});

test('the return path that comes back is decoded and compared with the recorded one', async (t) => {
  const pong = (v: number): Buffer => Buffer.from([0, 2, 0, 4, 0, 0, 0, v]);
  const shut = (s: number): Buffer => Buffer.from([0, 1, 0, 4, 0, 0, 0, s]);
  const recorded = Buffer.concat([pong(1), pong(2), shut(0)]);
  for (const [back, same, at] of [
    [recorded, true, null],
    [Buffer.concat([pong(1), pong(3), shut(0)]), false, 1],
    [Buffer.concat([pong(1), pong(2)]), false, 2],
  ] as const) {
    const dir = makeCapture([{ src: bytes(10_000, 1, QEVM), dst: recorded }]);
    const dst = new FakeDestination((s) => s.write(back));
    const target = await dst.start();
    try {
      const r = await replayCapture(dir, { target, idleTimeoutMs: 300 });
      const rp = r.connections[0]!.returnPath!;
      t.is(rp.same, same);
      t.is(rp.recordedMessages, 3);
      t.is(r.connections[0]!.bytesReceived, back.length);
      t.is(rp.firstDivergence?.index ?? null, at);
      if (at === 1) t.deepEqual([rp.firstDivergence!.recorded!.text, rp.firstDivergence!.received!.text], ['PONG 2', 'PONG 3']);
    } finally {
      await dst.close();
    }
  }
  // A SHUT with status 1 (the destination failed to load) fails a replay without QMP.
  const dir = makeCapture([{ src: bytes(1000, 1, QEVM), dst: recorded }]);
  const dst = new FakeDestination((s) => {
    let got = 0;
    s.on('data', (b: Buffer) => void ((got += b.length) === 1000 && s.write(shut(1))));
  });
  const target = await dst.start();
  try {
    const r = await replayCapture(dir, { target, idleTimeoutMs: 300 });
    t.is(r.outcome, 'failed');
    t.regex(r.reason ?? '', /SHUT with status 1/);
  } finally {
    await dst.close();
  }
});

test('a return path that ends in SHUT: nothing is half-closed before the SHUT, though the destination closes a multifd connection first', async (t) => {
  // A real 11.1 postcopy destination closes its multifd connections while it still cleans up; a
  // half-close of the preempt channel then left it stuck holding the BQL (one replay in five).
  const shut = Buffer.from([0, 1, 0, 4, 0, 0, 0, 0]);
  const multifd = bytes(1000, 2, Buffer.from([0x11, 0x22, 0x33, 0x44]));
  const dir = makeCapture([{ src: bytes(10_000, 1, QEVM), dst: shut }, { src: multifd }, { src: bytes(3000, 3, Buffer.from([0x11, 0x22, 0x33, 0x44])) }]);
  const events: string[] = [];
  let mainSocket: Socket | undefined;
  const dst = new FakeDestination((s, seen) => {
    s.on('end', () => events.push(`half-close ${seen.id}`));
    if (seen.id === 0) mainSocket = s;
    if (seen.id !== 1) return;
    let got = 0;
    s.on('data', (b: Buffer) => {
      got += b.length;
      if (got !== multifd.length) return;
      s.end();
      setTimeout(() => {
        events.push('SHUT');
        mainSocket!.write(shut);
      }, 300);
    });
  });
  const target = await dst.start();
  try {
    const r = await replayCapture(dir, { target, idleTimeoutMs: 1000 });
    t.true(r.ok, r.reason ?? '');
    t.is(events[0], 'SHUT', `no connection half-closed before the SHUT: ${events.join(', ')}`);
    t.deepEqual(events.slice(1).sort(), ['half-close 0', 'half-close 1', 'half-close 2'], 'every connection half-closed after it');
    t.is(r.connections[0]!.returnPath!.shutStatus, 0);
  } finally {
    await dst.close();
  }
});

test('a destination that closes early: failed, with the offset sent on each connection at that moment', async (t) => {
  const src = [bytes(20_000_000, 1, QEVM), bytes(1000, 2)];
  const dir = makeCapture(src.map((s) => ({ src: s })));
  const dst = new FakeDestination((s, seen) => {
    if (seen.id % 2 !== 0) return;
    let got = 0;
    // Read 1 MiB of main, then reset the connection (as QEMU does when it rejects a stream).
    s.on('data', (b: Buffer) => {
      got += b.length;
      if (got >= 1024 * 1024) s.resetAndDestroy();
    });
  });
  const target = await dst.start();
  try {
    const r = await replayCapture(dir, { target, idleTimeoutMs: 300 });
    t.is(r.outcome, 'failed');
    t.false(r.ok);
    t.truthy(r.failure);
    t.regex(r.failure!.reason, /connection 0 \(main\)/);
    const main = r.failure!.sentAt[0]!;
    t.is(main.total, 20_000_000);
    t.true(main.sent >= 1024 * 1024 - 300_000 && main.sent < 20_000_000, `main sent ${main.sent} when it failed`);
    t.is(r.failure!.sentAt.length, 2);
    t.true(r.connections[0]!.bytesSent < 20_000_000, 'sending stopped after the failure');
    // The human report puts the reason next to the offsets.
    const o = new MemoryOutput();
    const code = await main_(['replay', dir, '--target', `127.0.0.1:${target.port}`, '--quiet', '--idle-timeout', '300'], o);
    t.is(code, 1);
    t.regex(o.lines.join('\n'), /FAILED: .*connection 0 \(main\)[\s\S]*first sign at [\d.]+ s[\s\S]*conn00 main\s+byte offset \d+ of 20000000/);
  } finally {
    await dst.close();
  }
});
const main_ = main;

test('--out writes what was sent and what came back as a capture the other commands read', async (t) => {
  const src = [bytes(400_000, 1, QEVM), bytes(30_000, 2, Buffer.from([0x11, 0x22, 0x33, 0x44]))];
  const back = Buffer.from([0, 2, 0, 4, 0, 0, 0, 9]);
  const dir = makeCapture(src.map((s) => ({ src: s })));
  const out = join(mkdtempSync(join(tmpdir(), 'mw-replay-out-')), 'cap');
  const dst = new FakeDestination((s, seen) => void (seen.id === 0 && s.write(back)));
  const target = await dst.start();
  try {
    const r = await replayCapture(dir, { target, idleTimeoutMs: 300, outDir: out });
    t.true(r.ok, r.reason ?? '');
    t.is(readFileSync(join(out, 'conn00.src2dst.bin')).compare(src[0]!), 0);
    t.is(readFileSync(join(out, 'conn01.src2dst.bin')).compare(src[1]!), 0);
    t.is(readFileSync(join(out, 'conn00.dst2src.bin')).compare(back), 0);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { recorder: string; connections: Array<{ directions: { src2dst: { sha256: string } } }> };
    t.is(index.recorder, 'migwire replay');
    t.is(index.connections[0]!.directions.src2dst.sha256, sha(src[0]!));
    const input = await openCapture(out);
    t.deepEqual(input.channels.filter((c) => c.size).map((c) => c.role), ['main', 'return-path', 'multifd']);
    const sched = await readSchedule(join(out, 'chunks.csv'));
    t.is(sched.get(0)!.len.reduce((a, b) => a + b, 0), src[0]!.length);
  } finally {
    await dst.close();
  }
});

test('a file row (stream.bin) is one main connection; mapped-ram and TLS recorded encrypted are refused; CLI usage errors exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-replay-file-'));
  const stream = bytes(100_000, 4, QEVM);
  writeFileSync(join(dir, 'stream.bin'), stream);
  const dst = new FakeDestination();
  const target = await dst.start();
  try {
    const r = await replayCapture(dir, { target, idleTimeoutMs: 300 });
    t.is(r.outcome, 'accepted', r.reason ?? '');
    t.is(dst.conns.length, 1);
    t.is(Buffer.concat(dst.conns[0]!.bytes).compare(stream), 0);
  } finally {
    await dst.close();
  }
  const mapped = mkdtempSync(join(tmpdir(), 'mw-replay-mapped-'));
  writeFileSync(join(mapped, 'stream.bin'), stream);
  writeFileSync(join(mapped, 'meta.json'), JSON.stringify({ caps: { 'mapped-ram': true } }));
  await t.throwsAsync(replayCapture(mapped, { target }), { message: /mapped-ram .* only through file:/ });
  const tls = makeCapture([{ src: Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10, 1, 2, 3]) }]);
  await t.throwsAsync(replayCapture(tls, { target: { host: '127.0.0.1', port: 1 } }), { message: /TLS recorded encrypted/ });
  const o = new MemoryOutput();
  t.is(await main(['replay', dir], o), 2);
  t.regex(o.errors.join('\n'), /needs --target/);
  t.is(await main(['replay', dir, '--target', '127.0.0.1:1', '--timing', 'slow'], new MemoryOutput()), 2);
  const noQmp = new MemoryOutput();
  t.is(await main(['replay', dir, '--setup'], noQmp), 2);
  t.regex(noQmp.errors.join('\n'), /--setup needs --qmp/);
  t.is(await main(['replay', tls, '--target', '127.0.0.1:1'], new MemoryOutput()), 2);
  const refused = new MemoryOutput();
  t.is(await main(['replay', dir, '--target', '127.0.0.1:1', '--json', '--quiet'], refused), 1);
  const rep = JSON.parse(refused.lines.join('')) as { outcome: string; reason: string; connections: Array<{ end: string }> };
  t.is(rep.outcome, 'failed');
  t.regex(rep.reason, /cannot connect/);
  t.is(rep.connections[0]!.end, 'not-connected');
});

test('return-path logs: a recorded return path that does not decode is reported, not thrown', (t) => {
  const a = new ReturnPathLog('recorded');
  a.write(Buffer.from([0, 9, 0, 0]));
  a.end();
  const b = new ReturnPathLog('received');
  b.end();
  const c = compareReturnPaths(a, b);
  t.false(c.same);
  t.regex(c.recordedError ?? '', /unknown return-path message/);
});

test('recordedTlsTerminated: index.json transport tls-terminated, else the meta.json note; a plain capture is not', (t) => {
  const plain = makeCapture([{ src: QEVM }]);
  t.false(recordedTlsTerminated(plain));
  const tls = makeCapture([{ src: QEVM }]);
  const index = JSON.parse(readFileSync(join(tls, 'index.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(tls, 'index.json'), JSON.stringify({ ...index, transport: 'tls-terminated' }));
  t.true(recordedTlsTerminated(tls));
  const noted = mkdtempSync(join(tmpdir(), 'mw-replay-'));
  writeFileSync(join(noted, 'meta.json'), JSON.stringify({ tls: { x509: true, terminated_by_proxy: true } }));
  t.true(recordedTlsTerminated(noted));
  t.false(recordedTlsTerminated(join(noted, 'missing')));
});
