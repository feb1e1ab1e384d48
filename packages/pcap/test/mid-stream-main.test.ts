/**
 * A main connection captured without its SYN, cut inside its RAM records: discovery finds the first
 * RAM record boundary, names the connection main, and the stream decodes from there as the tail of
 * the whole one. Traffic that is not a migration (random bytes, HTTP) stays unrelated.
 */
import test from 'ava';
import { decodeMainStream, encodeMainStream, type MainRecordInput } from '@migwire/stream-codec';
import { type ChannelConnection, type Direction, indexCapture, LinkType, readDirection } from '../src/index.js';
import { Conversation } from './helpers/conversation.js';
import { concat, pattern } from './helpers/frames.js';
import { chunked, type PcapRecord, writePcap } from './helpers/writers.js';

const SRC = '192.168.1.10';
const DST = '192.168.1.20';

function mainStream(): Uint8Array {
  const records: MainRecordInput[] = [
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'section', sectionType: 'start', sectionId: 2, idstr: 'ram', instanceId: 0, versionId: 4 },
    { kind: 'ram-eos', sectionId: 2, flags: 0x10 },
    { kind: 'footer', sectionId: 2 },
  ];
  for (let part = 0; part < 3; part++) {
    records.push({ kind: 'section', sectionType: part === 2 ? 'end' : 'part', sectionId: 2, idstr: 'ram' });
    for (let i = 0; i < 6; i++) {
      const at = (part * 6 + i) * 4096;
      const flags = (i % 3 === 1 ? 0x02 : 0x08) | (i === 0 ? 0 : 0x20);
      records.push(flags & 0x02 ? { kind: 'ram-zero', sectionId: 2, flags, block: 'pc.ram', pageOffset: at, fill: 0 } : { kind: 'ram-page', sectionId: 2, flags, block: 'pc.ram', pageOffset: at, data: pattern(4096, at + 1) });
    }
    records.push({ kind: 'ram-eos', sectionId: 2, flags: 0x10 }, { kind: 'footer', sectionId: 2 });
  }
  records.push({ kind: 'eof' });
  return encodeMainStream(records);
}

/** One connection per entry, none with its handshake: each captured from `cut` of its bytes on. */
function midStreamCapture(conns: Array<{ port: number; dport?: number; bytes: Uint8Array; cut: number }>): Uint8Array {
  // The connections' packets interleave in time, as concurrent connections' do.
  const recs: PcapRecord[] = [];
  for (const s of conns) {
    const c = new Conversation({ addr: SRC, port: s.port, isn: 5 }, { addr: DST, port: s.dport ?? 4444, isn: 99 });
    for (let off = s.cut; off < s.bytes.length; off += 1448) c.data('c', off, s.bytes.subarray(off, Math.min(off + 1448, s.bytes.length)));
    c.packets.forEach((data, i) => recs.push({ sec: 1, frac: i, data }));
  }
  recs.sort((x, y) => x.frac - y.frac);
  return writePcap(recs, { linkType: LinkType.Raw });
}

async function bytesOf(file: Uint8Array, c: ChannelConnection, d: Direction): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const e of readDirection(chunked(file), c, d)) if (e.kind === 'data') parts.push(e.bytes.slice());
  return concat(parts);
}

test('a main connection captured mid-way is found by its RAM records and decodes from the first one as the whole stream does', async (t) => {
  const stream = mainStream();
  const { records: full } = decodeMainStream(stream);
  const pages = full.filter((r) => r.kind === 'ram-page');
  const cut = pages[2]!.offset + 1000; // inside a page's payload
  const file = midStreamCapture([{ port: 40000, bytes: stream, cut }]);
  const index = await indexCapture(chunked(file));
  t.is(index.migrations.length, 1);
  const conn = index.migrations[0]!.connections[0]!;
  const boundary = full.find((r) => r.offset >= cut)!.offset;
  t.like(conn, { role: 'main', orientation: 'first-bytes', src2dst: { midStream: true, resyncOffset: boundary - cut } });
  const bytes = (await bytesOf(file, conn, 'src2dst')).subarray(boundary - cut);
  const { records, error } = decodeMainStream(bytes, { resumeInRam: {} });
  t.is(error, undefined, error?.message);
  const tail = full.filter((r) => r.offset >= boundary);
  t.deepEqual(records.map((r) => [r.kind, r.offset + boundary]), tail.map((r) => [r.kind, r.offset]));
  t.deepEqual(records.map((r) => ('pageOffset' in r ? r.pageOffset : -1)), tail.map((r) => ('pageOffset' in r ? r.pageOffset : -1)));
  t.is(records.at(-1)!.kind, 'eof');
});

test('random bytes and HTTP captured mid-way are not taken for a main channel', async (t) => {
  const http = new TextEncoder().encode('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(100_000));
  const file = midStreamCapture([
    { port: 50000, dport: 80, bytes: http, cut: 30 },
    { port: 50001, dport: 9000, bytes: pattern(300_000, 9), cut: 777 },
    { port: 50002, dport: 9001, bytes: new Uint8Array(200_000), cut: 5 },
  ]);
  const index = await indexCapture(chunked(file));
  t.is(index.migrations.length, 0);
  t.deepEqual(index.ignored.map((c) => [c.role, c.src2dst.resyncOffset]), [
    ['other', undefined],
    ['other', undefined],
    ['other', undefined],
  ]);
});

test('with a main already open, a second connection of RAM records captured mid-way is not another main', async (t) => {
  const stream = mainStream();
  const preempt = mainStream().subarray(60); // bare RAM records and more, no header
  const file = midStreamCapture([
    { port: 40000, bytes: stream, cut: 0 },
    { port: 40001, bytes: preempt, cut: 0 },
  ]);
  const index = await indexCapture(chunked(file));
  const conns = index.migrations[0]!.connections;
  t.deepEqual(conns.map((c) => [c.role, c.src2dst.resyncOffset]), [
    ['main', undefined],
    ['postcopy-preempt', undefined],
  ]);
});
