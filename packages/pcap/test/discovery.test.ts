import test from 'ava';
import { MultifdDecoder, type U64 } from '@migwire/stream-codec';
import { type ChannelConnection, type Direction, indexCapture, LinkType, MAX_IGNORED_DESCRIBED, MAX_MIGRATION_CONNECTIONS, readDirection } from '../src/index.js';
import { Conversation } from './helpers/conversation.js';
import { concat, ethernet, ipPacket, pattern, SYN } from './helpers/frames.js';
import { chunked, type PcapRecord, writePcap } from './helpers/writers.js';

const SRC = '192.168.1.10';
const DST = '192.168.1.20';
const enc = (s: string) => new TextEncoder().encode(s);

const mainBytes = concat([Uint8Array.of(0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3), pattern(5000, 1)]);
const returnPath = concat([Uint8Array.of(0, 1, 0, 4), pattern(300, 2)]);
function multifdBytes(id: number): Uint8Array {
  const init = new Uint8Array(64);
  init.set([0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1]);
  init[24] = id;
  return concat([init, pattern(4000, 10 + id)]);
}
// A bare RAM page record: be64 address|flags with Page (0x08) and Continue (0x20).
const preemptBytes = concat([Uint8Array.of(0, 0, 0, 0, 0, 0x10, 0, 0x28), pattern(4096, 5)]);
const tlsBytes = concat([Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00), pattern(500, 6)]);

interface Scripted {
  port: number;
  dst?: string;
  dport?: number;
  up: Uint8Array;
  down?: Uint8Array;
  at: number;
  noHandshake?: boolean;
  /** Both sides close after the data. */
  fin?: boolean;
}

function capture(conns: Scripted[]): Uint8Array {
  const recs: PcapRecord[] = [];
  for (const s of conns) {
    const c = new Conversation({ addr: SRC, port: s.port, isn: s.port * 7 }, { addr: s.dst ?? DST, port: s.dport ?? 4444, isn: 99 });
    if (!s.noHandshake) c.handshake();
    for (let off = 0; off < s.up.length; off += 1448) c.data('c', off, s.up.subarray(off, off + 1448));
    if (s.down) c.data('s', 0, s.down);
    if (s.fin) c.fin('c', s.up.length).fin('s', s.down?.length ?? 0);
    c.packets.forEach((p, i) => recs.push({ sec: s.at, frac: i, data: ethernet(p) }));
  }
  recs.sort((x, y) => x.sec - y.sec || x.frac - y.frac);
  return writePcap(recs, { linkType: LinkType.Ethernet });
}

async function bytesOf(file: Uint8Array, c: ChannelConnection, d: Direction): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const e of readDirection(chunked(file), c, d)) if (e.kind === 'data') parts.push(e.bytes.slice());
  return concat(parts);
}

test('channels of a migration are named from their first bytes and grouped by destination and time', async (t) => {
  const file = capture([
    { port: 40000, up: mainBytes, down: returnPath, at: 100 },
    { port: 40001, up: multifdBytes(0), at: 100 },
    { port: 40002, up: multifdBytes(1), at: 100 },
    { port: 40003, up: preemptBytes, at: 100 },
    { port: 50000, dst: '192.168.1.99', dport: 80, up: enc('GET / HTTP/1.1\r\n\r\n'), at: 100 },
    { port: 41000, up: tlsBytes, at: 500 },
  ]);
  const index = await indexCapture(chunked(file, 4096));
  t.is(index.migrations.length, 2);
  const [m0, m1] = index.migrations;
  t.deepEqual(m0!.destination, { address: DST, port: 4444 });
  t.deepEqual(
    m0!.connections.map((c) => [c.role, c.multifdId, c.src.port, c.orientation]),
    [
      ['main', undefined, 40000, 'syn'],
      ['multifd', 0, 40001, 'syn'],
      ['multifd', 1, 40002, 'syn'],
      ['postcopy-preempt', undefined, 40003, 'syn'],
    ],
  );
  t.deepEqual(m1!.connections.map((c) => c.role), ['main(tls)']);
  t.deepEqual(index.ignored.map((c) => [c.role, c.dst.port]), [['other', 80]]);
  t.is(index.missingBytes, 0);
  t.like(m0!.connections[0], { src2dst: { bytes: mainBytes.length, midStream: false }, dst2src: { bytes: returnPath.length } });

  const main = m0!.connections[0]!;
  // The script sends no FIN: the capture says the streams may go on.
  t.deepEqual(main.problems.map((p) => [p.kind, p.direction, p.offset]), [
    ['open-at-end', 'src2dst', mainBytes.length],
    ['open-at-end', 'dst2src', returnPath.length],
  ]);
  t.deepEqual(await bytesOf(file, main, 'src2dst'), mainBytes);
  t.deepEqual(await bytesOf(file, main, 'dst2src'), returnPath);
  t.deepEqual(await bytesOf(file, m0!.connections[2]!, 'src2dst'), multifdBytes(1));
});

test('TLS connections are named by arrival order: the first main(tls), the others multifd(tls)', async (t) => {
  const file = capture([
    { port: 41000, up: tlsBytes, at: 500 },
    { port: 41001, up: tlsBytes, at: 500 },
    { port: 41002, up: tlsBytes, at: 500 },
  ]);
  const index = await indexCapture(chunked(file, 4096));
  t.deepEqual(index.migrations.map((m) => m.connections.map((c) => [c.role, c.src.port])), [
    [
      ['main(tls)', 41000],
      ['multifd(tls)', 41001],
      ['multifd(tls)', 41002],
    ],
  ]);
});

test('a headerless connection after main closed is main-recovery; before, the first is postcopy-preempt', async (t) => {
  const headerless = concat([Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x10), pattern(200, 3)]);
  const file = capture([
    { port: 40000, up: mainBytes, at: 100, fin: true },
    { port: 40001, up: preemptBytes, at: 101 },
    { port: 40002, up: headerless, at: 102 },
  ]);
  const index = await indexCapture(chunked(file, 4096));
  t.deepEqual(index.migrations[0]!.connections.map((c) => c.role), ['main', 'main-recovery', 'main-recovery']);
  const open = capture([
    { port: 40000, up: mainBytes, at: 100 },
    { port: 40001, up: preemptBytes, at: 100 },
    { port: 40002, up: headerless, at: 100 },
  ]);
  const index2 = await indexCapture(chunked(open, 4096));
  t.deepEqual(index2.migrations[0]!.connections.map((c) => c.role), ['main', 'postcopy-preempt', 'other']);
});

test('without a captured SYN, the side whose bytes open a channel is the source, and it is flagged mid-stream', async (t) => {
  // The destination speaks first in the file, so the first packet's sender is not the source.
  const c = new Conversation({ addr: SRC, port: 40000, isn: 5 }, { addr: DST, port: 4444, isn: 99 });
  c.data('s', 0, returnPath).data('c', 0, mainBytes.subarray(0, 1400));
  const file = writePcap(c.packets.map((data, i) => ({ sec: 1, frac: i, data })), { linkType: LinkType.Raw });
  const index = await indexCapture(chunked(file));
  const conn = index.migrations[0]!.connections[0]!;
  t.like(conn, { role: 'main', orientation: 'first-bytes', src: { port: 40000 }, src2dst: { midStream: true } });
  t.deepEqual(await bytesOf(file, conn, 'dst2src'), returnPath);
});

test('holes are listed per connection and direction and summed for the capture', async (t) => {
  const c = new Conversation({ addr: SRC, port: 40000, isn: 5 }, { addr: DST, port: 4444, isn: 99 }).handshake();
  c.data('c', 0, mainBytes.subarray(0, 1000)).data('c', 1500, mainBytes.subarray(1500, 3000)).fin('c', 3000);
  const file = writePcap(c.packets.map((data, i) => ({ sec: 1, frac: i, data })), { linkType: LinkType.Raw });
  const index = await indexCapture(chunked(file));
  const conn = index.migrations[0]!.connections[0]!;
  t.like(conn.problems, [{ kind: 'hole', direction: 'src2dst', offset: 1000, length: 500, reason: 'lost' }]);
  t.is(index.missingBytes, 500);
  const events = [];
  for await (const e of readDirection(chunked(file), conn, 'src2dst')) events.push(e.kind);
  t.deepEqual(events, ['syn', 'data', 'fin', 'hole', 'data']);
});

test('a multifd connection captured mid-stream is found by its next packet header and decodes from there', async (t) => {
  const packet = (num: number, fill: number): Uint8Array => {
    const h = new Uint8Array(320 + 128 * 8 + 4096); // header, offsets[pages_alloc], one page
    const v = new DataView(h.buffer);
    v.setUint32(0, 0x11223344);
    v.setUint32(4, 1);
    v.setUint32(12, 128); // pages_alloc
    v.setUint32(16, 1); // normal pages
    v.setUint32(20, 4096); // next_packet_size
    v.setUint32(28, num);
    h.set(enc('pc.ram'), 64);
    h.fill(fill, 320 + 128 * 8); // offsets[0] = 0, then the page
    return h;
  };
  const stream = concat([packet(1, 1), packet(2, 2), packet(3, 3)]);
  const cut = 1000; // the capture starts inside the first packet
  const c = new Conversation({ addr: SRC, port: 40001, isn: 5 }, { addr: DST, port: 4444, isn: 99 });
  for (let off = cut; off < stream.length; off += 1448) c.data('c', off, stream.subarray(off, Math.min(off + 1448, stream.length)));
  const file = writePcap(c.packets.map((data, i) => ({ sec: 1, frac: i, data })), { linkType: LinkType.Raw });
  const index = await indexCapture(chunked(file));
  const conn = index.migrations[0]!.connections[0]!;
  const first = packet(1, 1).length;
  t.like(conn, { role: 'multifd', orientation: 'first-bytes', src: { port: 40001 }, src2dst: { midStream: true, resyncOffset: first - cut } });
  t.is(conn.multifdId, undefined, 'no init message, no id');
  const bytes = (await bytesOf(file, conn, 'src2dst')).subarray(first - cut);
  const dec = new MultifdDecoder({ skipInit: true });
  const nums: U64[] = [];
  dec.write(bytes, (r) => r.kind === 'multifd-packet' && nums.push(r.packetNum));
  dec.end(() => {});
  t.deepEqual(nums, [2, 3]);
});

test('a port scan (thousands of SYN-only connections) is counted in full but described for the first MAX_IGNORED_DESCRIBED only', async (t) => {
  const scans: Uint8Array[] = [];
  const n = MAX_IGNORED_DESCRIBED + 500;
  for (let i = 0; i < n; i++) scans.push(synOnly(i));
  const index = await indexCapture(chunked(writePcap(scans.map((data, i) => ({ sec: i, frac: 0, data })), { linkType: LinkType.Raw })));
  t.is(index.ignoredCount, n);
  t.is(index.ignored.length, MAX_IGNORED_DESCRIBED);
  t.deepEqual(index.ignored.slice(0, 2).map((c) => c.src.port), [20000, 20001], 'the first ones, in start order');
});

function synOnly(i: number): Uint8Array {
  return ipPacket({ src: SRC, dst: DST, sport: 20000 + i, dport: 1 + (i % 1000), seq: i, ack: 0, flags: SYN });
}

test('a flood of connections to a migration\'s destination: the first MAX_MIGRATION_CONNECTIONS join it, the rest are ignored', async (t) => {
  const conns: Scripted[] = [{ port: 30000, up: mainBytes, at: 100 }];
  const n = MAX_MIGRATION_CONNECTIONS + 20;
  for (let i = 1; i < n; i++) conns.push({ port: 30000 + i, up: multifdBytes(i % 200), at: 100 });
  const index = await indexCapture(chunked(capture(conns)));
  t.is(index.migrations.length, 1);
  t.is(index.migrations[0]!.connections.length, MAX_MIGRATION_CONNECTIONS);
  t.is(index.ignoredCount, n - MAX_MIGRATION_CONNECTIONS);
  t.is(index.migrations[0]!.connections[0]!.role, 'main', 'main, which came first, is in');
});
