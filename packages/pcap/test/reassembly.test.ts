import test from 'ava';
import { LinkType, type StreamEvent } from '../src/index.js';
import { collect, records } from './helpers/collect.js';
import { Conversation } from './helpers/conversation.js';
import { ACK, concat, pattern, RST } from './helpers/frames.js';
import { chunked, writePcap } from './helpers/writers.js';

const data = pattern(10_000, 3);
const piece = (from: number, to: number) => data.subarray(from, to);

function conv(isn = 1000) {
  return new Conversation({ addr: '10.0.0.1', port: 40000, isn }, { addr: '10.0.0.2', port: 4444, isn: 77 }).handshake();
}

async function run(c: Conversation, options = {}, snapTo?: Map<number, number>) {
  const recs = records(c.packets).map((r, i) => {
    const keep = snapTo?.get(i);
    return keep === undefined ? r : { ...r, data: r.data.subarray(0, keep), origLen: r.data.length };
  });
  return collect(chunked(writePcap(recs, { linkType: LinkType.Raw })), options);
}

const problems = (events: StreamEvent[] | undefined) =>
  (events ?? []).filter((e) => e.kind !== 'syn' && e.kind !== 'fin' && e.kind !== 'rst').map(({ time: _t, ...rest }) => rest);
const endOf = (r: Awaited<ReturnType<typeof run>>) => r.all.find((e) => e.kind === 'end');

test('out-of-order segments are delivered in stream order', async (t) => {
  const c = conv().data('c', 2000, piece(2000, 3000)).data('c', 1000, piece(1000, 2000)).data('c', 0, piece(0, 1000));
  const r = await run(c);
  t.deepEqual(r.bytes.get('0a'), piece(0, 3000));
  t.deepEqual(problems(r.events.get('0a')), []);
  t.like(endOf(r), { a: { outOfOrderSegments: 2, bytes: 3000, missingBytes: 0 } });
});

test('a faithful retransmission and a partial overlap add nothing and report nothing', async (t) => {
  const c = conv().data('c', 0, piece(0, 1000)).data('c', 0, piece(0, 1000)).data('c', 500, piece(500, 1500));
  const r = await run(c);
  t.deepEqual(r.bytes.get('0a'), piece(0, 1500));
  t.deepEqual(problems(r.events.get('0a')), []);
  t.like(endOf(r), { a: { retransmittedBytes: 1500, conflicts: 0 } });
});

test('a conflicting overlap keeps the first copy and is reported at its offset', async (t) => {
  const bad = piece(500, 1500).slice();
  bad.fill(0xee, 100, 110); // stream offsets 600..610 differ
  const c = conv().data('c', 0, piece(0, 1000)).data('c', 500, bad);
  const r = await run(c);
  t.deepEqual(r.bytes.get('0a'), concat([piece(0, 1000), bad.subarray(500)]));
  const conflicts = problems(r.events.get('0a'));
  t.true(conflicts.length > 0);
  for (const c of conflicts) {
    t.is(c.kind, 'conflict');
    t.true(c.offset >= 600 && c.offset + ('length' in c ? c.length : 0) <= 610);
  }
  t.like(endOf(r), { a: { conflicts: conflicts.length } });
});

test('a conflicting overlap between two held out-of-order segments keeps the one that came first', async (t) => {
  const second = piece(1500, 2500).slice().fill(0x11);
  const c = conv().data('c', 2000, piece(2000, 3000)).data('c', 1500, second).data('c', 0, piece(0, 1500));
  const r = await run(c);
  t.deepEqual(r.bytes.get('0a'), concat([piece(0, 1500), second.subarray(0, 500), piece(2000, 3000)]));
  t.is(problems(r.events.get('0a')).filter((e) => e.kind === 'conflict').length > 0, true);
});

test('sequence numbers wrap around 2^32', async (t) => {
  const c = conv(2 ** 32 - 1500);
  for (let off = 0; off < 10_000; off += 1000) c.data('c', off, piece(off, off + 1000));
  const r = await run(c);
  t.deepEqual(r.bytes.get('0a'), data);
  t.deepEqual(problems(r.events.get('0a')), []);
});

test('a lost segment is a hole with its offset and length; bytes after it still arrive', async (t) => {
  const c = conv().data('c', 0, piece(0, 1000)).data('c', 2000, piece(2000, 3000)).fin('c', 3000);
  const r = await run(c);
  t.deepEqual(r.bytes.get('0a'), concat([piece(0, 1000), piece(2000, 3000)]));
  t.deepEqual(problems(r.events.get('0a')), [{ kind: 'hole', offset: 1000, length: 1000, reason: 'lost' }]);
  t.like(endOf(r), { a: { missingBytes: 1000, holes: 1, finSeen: true } });
});

test('missing bytes before a FIN are a hole at the end', async (t) => {
  const r = await run(conv().data('c', 0, piece(0, 1000)).fin('c', 1500));
  t.deepEqual(problems(r.events.get('0a')), [{ kind: 'hole', offset: 1000, length: 500, reason: 'lost' }]);
});

test('a snaplen cut is a hole at once, labelled snaplen', async (t) => {
  const c = conv().data('c', 0, piece(0, 1000)).data('c', 1000, piece(1000, 2000)).data('c', 2000, piece(2000, 3000));
  // packets: 3 handshake, then the data; cut the middle data packet to 40 IP+TCP header bytes + 100 payload bytes.
  const r = await run(c, {}, new Map([[4, 140]]));
  t.deepEqual(r.bytes.get('0a'), concat([piece(0, 1100), piece(2000, 3000)]));
  const events = r.events.get('0a')!;
  t.deepEqual(problems(events), [{ kind: 'hole', offset: 1100, length: 900, reason: 'snaplen' }]);
});

test('over the buffering limit the gap becomes a hole instead of growing memory', async (t) => {
  const c = conv().data('c', 0, piece(0, 1000));
  for (let off = 2000; off < 10_000; off += 1000) c.data('c', off, piece(off, off + 1000));
  const r = await run(c, { maxBufferedBytes: 2500 });
  const events = r.all.filter((e) => e.kind === 'stream' && e.from === 'a').map((e) => (e.kind === 'stream' ? e.event.kind : ''));
  // The hole is declared when the third held segment arrives, before the end of the capture.
  t.deepEqual(events.slice(0, 5), ['syn', 'data', 'hole', 'data', 'data']);
  t.deepEqual(problems(r.events.get('0a')), [{ kind: 'hole', offset: 1000, length: 1000, reason: 'lost' }]);
  t.deepEqual(r.bytes.get('0a'), concat([piece(0, 1000), piece(2000, 10_000)]));
});

test('a connection whose SYN was not captured starts mid-stream and says so', async (t) => {
  const c = conv(5000).data('c', 3000, piece(3000, 4000)).data('s', 0, piece(0, 10)).data('c', 4000, piece(4000, 5000)).data('c', 2500, piece(2500, 3000));
  c.packets.splice(0, 3); // drop the handshake
  const r = await run(c);
  t.deepEqual(r.bytes.get('0a'), piece(3000, 5000));
  t.like(r.all.find((e) => e.kind === 'connection'), { connection: { synSeen: false } });
  t.like(endOf(r), { midStream: { a: true, b: true } });
  t.deepEqual(problems(r.events.get('0a')), [{ kind: 'before-start', offset: -500, length: 500 }]);
});

test('bytes the peer acknowledged but the capture never saw are a hole at the end', async (t) => {
  const r = await run(conv().data('c', 0, piece(0, 1000)).ackTo('s', 0, 1800));
  t.deepEqual(problems(r.events.get('0a')), [{ kind: 'hole', offset: 1000, length: 800, reason: 'lost' }]);
  t.like(endOf(r), { a: { missingBytes: 800 } });
});

test('SYN, FIN and RST are stream events at their offsets', async (t) => {
  const c = conv().data('c', 0, piece(0, 100)).fin('c', 100);
  c.packets.push(c.packets[3]!.slice());
  const rst = c.packets[3]!.slice();
  rst[33] = 0x04; // TCP flags byte (20-byte IPv4 header + 13): RST
  c.packets.push(rst);
  const r = await run(c);
  const kinds = (r.events.get('0a') ?? []).map((e) => [e.kind, e.offset]);
  t.deepEqual(kinds, [['syn', 0], ['fin', 100], ['rst', 0]]);
  t.like(endOf(r), { a: { retransmittedBytes: 200, synSeen: true, finSeen: true, rstSeen: true } });
});

/** A closed connection (100 bytes up, FINs both ways), then a second one from client port `port` with 100 bytes; `extra` packets follow. */
function closedThenAnother(port: number, isn: number, extra: (first: Conversation) => Uint8Array[] = () => []): Conversation {
  const first = conv().data('c', 0, piece(0, 100)).fin('c', 100).fin('s', 0);
  const next = new Conversation({ addr: '10.0.0.1', port, isn }, { addr: '10.0.0.2', port: 4444, isn: 9 }).handshake().data('c', 0, piece(100, 200));
  const merged = conv();
  merged.packets.length = 0;
  merged.packets.push(...first.packets, ...next.packets, ...extra(first));
  return merged;
}

test('a new SYN on a closed 4-tuple is a new connection', async (t) => {
  const r = await run(closedThenAnother(40000, 555_555));
  t.deepEqual(r.bytes.get('0a'), piece(0, 100));
  t.deepEqual(r.bytes.get('1a'), piece(100, 200));
});

test('a gap the peer has acknowledged is a hole at that ACK, not at the end of the capture', async (t) => {
  const c = conv().data('c', 0, piece(0, 1000)).data('c', 2000, piece(2000, 3000)).ackTo('s', 0, 2500).data('c', 3000, piece(3000, 4000));
  const r = await run(c);
  const kinds = r.all.filter((e) => e.kind === 'stream' && e.from === 'a').map((e) => (e.kind === 'stream' ? `${e.event.kind}@${e.event.offset}` : ''));
  // The hole comes before the next segment is even read.
  t.deepEqual(kinds, ['syn@0', 'data@0', 'hole@1000', 'data@2000', 'data@3000']);
  t.deepEqual(r.bytes.get('0a'), concat([piece(0, 1000), piece(2000, 4000)]));
});

test('a closed connection ends (and frees its buffers) at its close, before later traffic', async (t) => {
  const r = await run(closedThenAnother(40001, 5, (first) => [first.packets[first.packets.length - 1]!.slice()]));
  const order = r.all.map((e) => (e.kind === 'end' || e.kind === 'connection' ? `${e.kind}${e.kind === 'end' ? e.connection : e.connection.index}` : '')).filter(Boolean);
  t.deepEqual(order, ['connection0', 'end0', 'connection1', 'end1']);
  // The retransmitted FIN after the close still counts.
  t.like(r.all.find((e) => e.kind === 'end' && e.connection === 0), { b: { packets: 3, finSeen: true } });
});

// Hostile captures: one-byte segments by the hundred thousand must cost time and memory in
// proportion to their count (a capture of 450,000 of them once took over a minute).
test('200,000 one-byte segments, each sent twice, reassemble exactly with no conflict', async (t) => {
  const n = 200_000;
  const bytes = pattern(n, 9);
  const c = conv();
  for (let i = 0; i < n; i++) c.data('c', i, bytes.subarray(i, i + 1)).data('c', i, bytes.subarray(i, i + 1));
  const r = await run(c);
  t.deepEqual(r.bytes.get('0a'), bytes);
  t.deepEqual(problems(r.events.get('0a')), []);
  t.like(endOf(r), { a: { retransmittedBytes: n, conflicts: 0 } });
});

test('one-byte segments in reverse order are held up to the segment limit, then the gap is a hole', async (t) => {
  const n = 5000;
  const bytes = pattern(n, 5);
  const c = conv();
  for (let i = n - 1; i >= 0; i--) c.data('c', i, bytes.subarray(i, i + 1));
  t.deepEqual((await run(c)).bytes.get('0a'), bytes, 'under the limit: every byte, in order');
  const r = await run(c, { maxBufferedSegments: 100 });
  const holes = problems(r.events.get('0a')).filter((e) => e.kind === 'hole');
  t.deepEqual(holes[0], { kind: 'hole', offset: 0, length: n - 101, reason: 'lost' }, 'the 101st held segment declares the gap before them lost');
});

// A RST ends a connection only if a receiving stack would take it (its sequence number near the
// stream's position); bytes captured after a connection ended are counted, never dropped silently.
test('a RST with a sequence number far outside the stream is ignored and counted; bytes after a real RST are counted as after close', async (t) => {
  const bogus = conv().data('c', 0, piece(0, 3000)).data('s', 0, new Uint8Array(0), { flags: RST | ACK, seq: 0xdeadbeef }).data('c', 3000, piece(3000, 6000));
  const r = await run(bogus);
  t.deepEqual(r.bytes.get('0a'), piece(0, 6000), 'the stream goes on past the forged RST');
  t.like(endOf(r), { b: { ignoredResets: 1 }, a: { bytesAfterClose: 0 } });
  const real = conv().data('c', 0, piece(0, 3000)).data('c', 3000, new Uint8Array(0), { flags: RST | ACK }).data('c', 3000, piece(3000, 6000)).data('c', 6000, piece(6000, 7000));
  const after = await run(real);
  t.deepEqual(after.bytes.get('0a'), piece(0, 3000), 'the stream ends at the RST');
  t.like(after.all.filter((e) => e.kind === 'end').at(-1), { a: { bytesAfterClose: 4000, ignoredResets: 0 } });
});

test('bytes sent past an earlier FIN are not delivered; they are counted as after close', async (t) => {
  const c = conv().data('c', 0, piece(0, 1000)).fin('c', 1000).data('c', 1000, piece(1000, 1500)).data('s', 0, piece(0, 10)).fin('s', 10);
  const r = await run(c);
  t.deepEqual(r.bytes.get('0a'), piece(0, 1000));
  t.like(endOf(r), { a: { bytesAfterClose: 500 } });
});
