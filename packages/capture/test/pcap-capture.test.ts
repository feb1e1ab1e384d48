/**
 * openCapture on a tcpdump capture (the real fixture fixtures/10.0-precopy-pcap, a 16 MiB precopy
 * migration through a relay): channels named as for a recording, bytes and arrival times from the
 * packets; a lost segment ends the channel with a StreamHoleError; several migrations in one file
 * need a choice.
 */
import test from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CaptureError, openCapture, StreamHoleError } from '../src/index.js';
import { collect, FIXTURES, scratch } from './paths.js';

const PCAP_GZ = join(FIXTURES, '10.0-precopy-pcap', 'capture.pcap.gz');
const QEVM = Buffer.from('QEVM');

/** The libpcap file split into its global header and packet records (Ethernet, IPv4, TCP). */
function records(pcap: Buffer): { header: Buffer; packets: { record: Buffer; payload: number }[] } {
  const le = pcap.readUInt32LE(0) === 0xa1b2c3d4 || pcap.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (at: number): number => (le ? pcap.readUInt32LE(at) : pcap.readUInt32BE(at));
  const packets: { record: Buffer; payload: number }[] = [];
  for (let at = 24; at + 16 <= pcap.length; ) {
    const len = u32(at + 8);
    const frame = pcap.subarray(at + 16, at + 16 + len);
    const ip = 14;
    const ihl = (frame[ip]! & 0x0f) * 4;
    const doff = (frame[ip + ihl + 12]! >> 4) * 4;
    packets.push({ record: pcap.subarray(at, at + 16 + len), payload: frame.readUInt16BE(ip + 2) - ihl - doff });
    at += 16 + len;
  }
  return { header: pcap.subarray(0, 24), packets };
}

test('a gzipped tcpdump capture opens by its magic: main channel, empty return direction, times from the packets', async (t) => {
  const c = await openCapture(PCAP_GZ);
  t.is(c.kind, 'pcap');
  t.deepEqual(
    c.channels.map((ch) => [ch.name, ch.role, ch.conn, ch.direction]),
    [
      ['main', 'main', 0, 'src2dst'],
      ['conn00.dst2src', 'empty', 0, 'dst2src'],
    ],
  );
  t.deepEqual(c.notices, []);
  const main = await collect(c.channels[0]!.open());
  t.is(main.length, c.channels[0]!.size!);
  t.true(main.subarray(0, 4).equals(QEVM));
  const times = (await c.arrivals())!;
  const first = times.at(0, 'src2dst', 0)!;
  t.true(first >= 0 && first < 1, 'seconds since the migration started');
  t.true(times.at(0, 'src2dst', main.length - 1)! > 0);
});

test('a segment missing from the capture ends the channel with a StreamHoleError at its stream offset', async (t) => {
  const { header, packets } = records(gunzipSync(readFileSync(PCAP_GZ)));
  const data = packets.filter((p) => p.payload > 0);
  const dropped = data[20]!;
  const offset = data.slice(0, 20).reduce((n, p) => n + p.payload, 0);
  const path = join(scratch('mw-pcap-hole-'), 'holed.pcap');
  writeFileSync(path, Buffer.concat([header, ...packets.filter((p) => p !== dropped).map((p) => p.record)]));
  const c = await openCapture(path);
  t.true(c.notices!.some((n) => n.includes(`conn00.src2dst: ${dropped.payload} bytes missing in 1 hole(s)`)));
  const e = await t.throwsAsync(collect(c.channels[0]!.open()), { instanceOf: StreamHoleError });
  t.like(e, { conn: 0, direction: 'src2dst', offset, length: dropped.payload, holeReason: 'lost', missingBytes: dropped.payload, code: 'STREAM_HOLE', channel: 'main' });
});

test('two migrations in one file: an error lists them, migration N picks one; --migration elsewhere is refused', async (t) => {
  const pcap = gunzipSync(readFileSync(PCAP_GZ));
  const { header, packets } = records(pcap);
  const later = packets.map((p) => {
    const r = Buffer.from(p.record);
    const le = pcap.readUInt32LE(0) === 0xa1b2c3d4 || pcap.readUInt32LE(0) === 0xa1b23c4d;
    if (le) r.writeUInt32LE(r.readUInt32LE(0) + 100, 0);
    else r.writeUInt32BE(r.readUInt32BE(0) + 100, 0);
    return r;
  });
  const path = join(scratch('mw-pcap-two-'), 'two.pcap');
  writeFileSync(path, Buffer.concat([header, ...packets.map((p) => p.record), ...later]));
  await t.throwsAsync(openCapture(path), { instanceOf: CaptureError, message: /2 migrations; choose one with --migration N:\n {2}migration 0: to 127\.0\.0\.1:\d+, 1 connections \(main\)/ });
  const second = await openCapture(path, { migration: 1 });
  t.is(second.pcap!.migration.id, 1);
  t.true(second.notices!.includes('1 other migration(s) in the file (--migration N): 0'));
  t.is((await collect(second.channels[0]!.open())).length, second.channels[0]!.size!);
  await t.throwsAsync(openCapture(path, { migration: 2 }), { instanceOf: CaptureError, message: /no migration 2/ });
  await t.throwsAsync(openCapture(join(FIXTURES, '10.0-precopy-file', 'stream.bin.gz'), { migration: 0 }), { instanceOf: CaptureError, message: /--migration applies to pcap/ });
});

test('an uncompressed capture reads its channels by position: the same bytes and arrival times as the gzipped one', async (t) => {
  const dir = scratch('mw-pcap-plain-');
  try {
    const plain = join(dir, 'capture.pcap');
    writeFileSync(plain, gunzipSync(readFileSync(PCAP_GZ)));
    const [p, g] = [await openCapture(plain), await openCapture(PCAP_GZ)];
    t.truthy(p.pcap!.index.extents, 'pass 1 noted where the bytes lie');
    t.deepEqual(p.channels.map((c) => [c.name, c.size]), g.channels.map((c) => [c.name, c.size]));
    t.true((await collect(p.channels[0]!.open())).equals(await collect(g.channels[0]!.open())));
    const [pt, gt] = [(await p.arrivals())!, (await g.arrivals())!];
    for (const off of [0, 1_000_000, 7_654_321, p.channels[0]!.size! - 1]) t.is(pt.at(0, 'src2dst', off), gt.at(0, 'src2dst', off));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
