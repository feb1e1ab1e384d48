/**
 * migwire replay of tcpdump captures, against a local TCP server standing in for the destination:
 * every connection gets exactly its captured bytes (plain pcap read by position, gzipped pcap in
 * one shared pass), recorded timing from the packet timestamps, a planned connection without bytes
 * refused before anything is sent, and the destination's settings inferred from the capture agree
 * with what the recordings' meta.json says was set.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { channelBytes, openCapture, type Capture } from '@migwire/capture';
import { inferDestinationSettings } from '@migwire/sync';
import { main, MemoryOutput, replayCapture } from '../src/index.js';
import { NoByteSourceError } from '../src/replay/plan.js';
import { scheduleFromArrivals } from '../src/replay/schedule.js';
import { replaySettings } from '../src/replay/settings.js';
import { captureToPcap } from './helpers/capture-to-pcap.js';
import { midStreamFixture } from './helpers/mid-stream-pcap.js';
import { FIXTURES } from './paths.js';

const PCAP = join(FIXTURES, '10.0-precopy-pcap', 'capture.pcap.gz');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A destination stand-in: keeps each connection's bytes, answers EOF with EOF. */
async function sink(): Promise<{ target: { host: string; port: number }; conns: Buffer[][]; close(): Promise<void> }> {
  const conns: Buffer[][] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    const got: Buffer[] = [];
    conns.push(got);
    s.on('data', (b: Buffer) => got.push(b));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { target: { host: '127.0.0.1', port: (server.address() as AddressInfo).port }, conns, close: () => new Promise((r) => server.close(() => r())) };
}

async function bytesOf(src: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c);
  return Buffer.concat(parts);
}

/** sha256 of every connection's src2dst bytes, by connection. */
async function sentBytes(c: Capture): Promise<string[]> {
  const out: string[] = [];
  for (const ch of c.channels.filter((x) => x.direction === 'src2dst').sort((a, b) => a.conn - b.conn)) out[ch.conn] = sha(await bytesOf(channelBytes(ch)));
  return out;
}

function pcapOf(fixture: string, gz: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'mw-replay-pcap-'));
  const path = join(dir, gz ? 'capture.pcap.gz' : 'capture.pcap');
  const pcap = captureToPcap(join(FIXTURES, fixture));
  writeFileSync(path, gz ? gzipSync(pcap) : pcap);
  return path;
}

for (const gz of [false, true]) {
  test(`a ${gz ? 'gzipped ' : ''}pcap of a multifd migration: each connection receives exactly its captured bytes, totals known up front`, async (t) => {
    const path = pcapOf('10.0-multifd4-none', gz);
    const expected = await sentBytes(await openCapture(join(FIXTURES, '10.0-multifd4-none')));
    const dst = await sink();
    try {
      const report = await replayCapture(path, { target: dst.target, timing: 'fast', idleTimeoutMs: 500 });
      t.is(report.outcome, 'accepted', report.reason ?? '');
      t.is(dst.conns.length, 5);
      t.deepEqual(dst.conns.map((c) => sha(Buffer.concat(c))), expected);
      for (const c of report.connections) {
        t.true(c.bytesToSend > 0);
        t.is(c.bytesSent, c.bytesToSend, c.name);
      }
      t.deepEqual(report.connections.map((c) => c.name), ['main', 'multifd 0', 'multifd 1', 'multifd 2', 'multifd 3']);
      t.deepEqual(report.settings?.inferred.map((s) => `${s.setting}=${s.value}`), ['multifd=true', 'multifd-channels=4', 'multifd-compression=none']);
    } finally {
      await dst.close();
    }
  });
}

test('the bundled tcpdump capture: main receives the migration tcpdump saw, byte for byte; the CLI says which settings it inferred', async (t) => {
  const expected = await sentBytes(await openCapture(PCAP));
  const dst = await sink();
  try {
    const o = new MemoryOutput();
    const code = await main(['replay', PCAP, '--target', `${dst.target.host}:${dst.target.port}`, '--quiet', '--idle-timeout', '500'], o);
    t.is(code, 0, o.lines.join('\n'));
    t.deepEqual(dst.conns.map((c) => sha(Buffer.concat(c))), expected);
    t.true(o.lines.includes('settings inferred from the capture (it has no meta.json):'));
    t.true(o.lines.includes('  none needed: default capabilities and parameters'));
    t.true(o.lines.some((l) => /^ {2}mapped-ram: not inferred: /.test(l)));
    t.true(o.lines.some((l) => /^conn00 +main +(\d+)\/\1 B sent/.test(l)), o.lines.join('\n'));
  } finally {
    await dst.close();
  }
});

test('--timing recorded on a pcap: the schedule is the packet timestamps, and the replay takes about as long as the capture', async (t) => {
  const fixture = join(FIXTURES, '10.0-switchover-ack');
  const path = pcapOf('10.0-switchover-ack', false);
  const capture = await openCapture(path);
  const times = (await capture.arrivals())!;
  const main = capture.channels.find((c) => c.role === 'main')!;
  const schedule = scheduleFromArrivals(times, new Map([[0, main.size]])).get(0)!;
  const index = JSON.parse(readFileSync(join(fixture, 'index.json'), 'utf8')) as { connections: Array<{ accepted_at: number }> };
  const t0 = index.connections[0]!.accepted_at;
  const rows = readFileSync(join(fixture, 'chunks.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')).filter((r) => r[2] === '0' && r[3] === 'src2dst');
  for (const [, tt, , , offset] of rows) {
    const i = schedule.offset.indexOf(Number(offset));
    t.true(i >= 0, `chunk at ${offset} scheduled`);
    t.true(Math.abs(schedule.t[i]! - (Number(tt) - t0)) < 2e-6, `chunk at ${offset} at its packet's time`);
  }
  t.is(schedule.offset.at(-1)! + schedule.len.at(-1)!, main.size!);
  const dst = await sink();
  try {
    const report = await replayCapture(path, { target: dst.target, timing: 'recorded', idleTimeoutMs: 300 });
    t.is(report.timing, 'recorded');
    t.is(report.outcome, 'accepted', report.reason ?? '');
    const span = Number(rows.at(-1)![1]) - t0;
    t.true(report.duration >= span * 0.9, `replay ${report.duration} s, capture ${span} s`);
    t.is(sha(Buffer.concat(dst.conns[0]!)), (await sentBytes(capture))[0]!);
    // The recorded return path came from the pcap's dst2src direction.
    t.true(report.connections[0]!.recordedBytesReceived > 0);
    t.true((report.connections[0]!.returnPath?.recordedMessages ?? 0) > 0);
  } finally {
    await dst.close();
  }
});

test('a planned connection with no byte source is refused before anything is sent (exit 1), never reported done', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-replay-nosrc-'));
  writeFileSync(join(dir, 'conn00.src2dst.bin'), Buffer.from('QEVM\0\0\0\x03'));
  writeFileSync(join(dir, 'conn00.dst2src.bin'), Buffer.alloc(0));
  writeFileSync(join(dir, 'conn01.dst2src.bin'), Buffer.from('x'));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ format: 'qemu-migration-capture/tcp-proxy/1', connections: [{ id: 0, accepted_at: 0 }, { id: 1, accepted_at: 0.1 }] }));
  const dst = await sink();
  try {
    const e = await t.throwsAsync(replayCapture(dir, { target: dst.target }), { instanceOf: NoByteSourceError });
    t.is(e?.conn, 1);
    const o = new MemoryOutput();
    t.is(await main(['replay', dir, '--target', `${dst.target.host}:${dst.target.port}`, '--quiet'], o), 1);
    t.regex(o.errors.join('\n'), /connection 1 has no byte source/);
    t.is(dst.conns.length, 0, 'no connection was opened');
  } finally {
    await dst.close();
  }
});

test('settings inferred from each recording agree with what its meta.json says its destination had; from its pcap too', async (t) => {
  const shown = ['multifd', 'postcopy-ram', 'postcopy-preempt', 'return-path', 'switchover-ack'];
  const fixtures = ['10.0-c-multifd4-zstd', '10.0-c2-multifd4-zlib', '10.0-g-postcopy-preempt', '7.2-c-multifd4-zstd', '10.0-precopy-tcp', '10.0-multifd4-zlib', '10.0-switchover-ack', '11.1-m11.0-switchover-ack', '11.1-switchover-ack', '11.1-multifd4-postcopy-preempt'];
  for (const name of fixtures) {
    const meta = JSON.parse(readFileSync(join(FIXTURES, name, 'meta.json'), 'utf8')) as { caps: Record<string, boolean>; params: Record<string, unknown> };
    // The directory without its meta.json: what the capture alone shows.
    const capture = await openCapture(join(FIXTURES, name));
    const got = await inferDestinationSettings(capture);
    for (const cap of shown) {
      const unknown = got.unknown.find((u) => u.setting === cap);
      if (unknown) {
        t.is(`${name} ${cap}`, '11.1-switchover-ack switchover-ack', `only an 11.1 machine type hides switchover-ack: ${unknown.why}`);
        continue;
      }
      t.is(got.caps[cap] === true, meta.caps[cap] === true, `${name}: ${cap}`);
    }
    t.is(got.params['multifd-channels'], meta.params['multifd-channels'], `${name}: multifd-channels`);
    t.is(got.params['multifd-compression'], meta.params['multifd-compression'], `${name}: multifd-compression`);
    t.true(got.unknown.some((u) => u.setting === 'mapped-ram'), 'mapped-ram is said to be beyond the capture');
  }
  const fromPcap = await replaySettings(await openCapture(pcapOf('10.0-c-multifd4-zstd', true)));
  t.deepEqual({ caps: fromPcap.caps, params: fromPcap.params }, { caps: { multifd: true }, params: { 'multifd-channels': 4, 'multifd-compression': 'zstd' } });
  t.regex(fromPcap.inference!.inferred.find((s) => s.setting === 'multifd-compression')!.from, /first multifd packet with pages \(multifd \d at offset \d+\)/);
  // Machine type and RAM size come from the stream (CONFIGURATION record, RAM block list).
  const bundled = (await replaySettings(await openCapture(PCAP))).inference!;
  t.is(bundled.machine, 'pc-q35-10.0');
  t.is(bundled.ramBlocks.find((b) => b.name === 'pc.ram')?.bytes, 16 << 20);
});

test('a pcap that missed a channel\'s start: arrival lookups count from where decoding starts (the skipped bytes later)', async (t) => {
  const f = midStreamFixture();
  const capture = await openCapture(f.path);
  const main = capture.channels.find((c) => c.direction === 'src2dst')!;
  t.is(main.midStream?.skipped, f.skipped);
  const times = (await capture.arrivals())!;
  // Packet i holds captured bytes [1448 i, 1448 (i+1)) and was captured i * 10 µs after the first
  // (times to within a µs: the pcap clock is 1.7e9 s, in doubles).
  const packetTime = (captured: number): number => Math.floor(captured / 1448) * 10e-6;
  for (const offset of [0, 1, 5000, main.size! - 1]) {
    t.true(Math.abs(times.at(main.conn, 'src2dst', offset)! - packetTime(offset + f.skipped)) < 1e-6, `channel offset ${offset}`);
  }
});
