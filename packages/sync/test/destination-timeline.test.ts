import test from 'ava';
import { MultifdFlushCoordinator, replaySyncTimeline, type TimelineStep } from '../src/index.js';
import { wireLog } from './helpers/wire-log.js';

/** A hand-written recording: "m" main record, "M!" main barrier, "p<ch>" pages, "s<ch>" SYNC. */
function classify(e: string): TimelineStep {
  if (e.startsWith('M')) return { source: 'main', barrier: e.includes('!') };
  const channel = Number(e[1]);
  return { source: 'multifd', channel, sync: e[0] === 's' };
}

test('main records behind a FLUSH wait until the missing SYNC arrives', (t) => {
  const events = ['s0', 'M!', 'Mafter', 'p1', 's1'];
  const r = replaySyncTimeline(events, classify, { channels: 2, mode: 'per-round' });
  t.deepEqual(r.order, ['s0', 'M!', 'p1', 's1', 'Mafter']);
  t.deepEqual(r.barriers, [{ index: 0, mainEvent: 1, waitedFor: [1], releasedAtEvent: 4 }]);
  t.is(r.stalled, undefined);
});

test("a channel's next-round pages recorded before main's FLUSH are applied only after the barrier", (t) => {
  // Main's buffer reached the wire late: channel 0's round-2 page is in the capture before FLUSH.
  const events = ['p0 r1', 's0', 'p0 r2', 's1', 'M!'];
  const r = replaySyncTimeline(events, classify, { channels: 2, mode: 'per-round' });
  t.deepEqual(r.order, ['p0 r1', 's0', 's1', 'M!', 'p0 r2']);
  t.deepEqual(r.barriers[0]?.waitedFor, []);
});

test('a recording that ends while main waits reports the stall and the channels it waited for', (t) => {
  const r = replaySyncTimeline(['s0', 'M!', 'Mnext'], classify, { channels: 3, mode: 'per-round' });
  t.deepEqual(r.stalled, { missingChannels: [1, 2], unprocessed: 1 });
});

test("source coordinator output replayed at the destination keeps every round's pages before the next round's", (t) => {
  const { log, sinks, main } = wireLog(2);
  const c = new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main });
  c.setup();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 200; i++) t.is(c.queuePage({ block: 'pc.ram', offset: i * 4096 }).status, 'queued');
    c.scanWrapped();
  }
  // Deliver main's FLUSHes first (the worst case for ordering): the barrier must still hold.
  const reordered = [...log.filter((e) => e.kind === 'flush'), ...log.filter((e) => e.kind !== 'flush')];
  const r = replaySyncTimeline(
    reordered,
    (e): TimelineStep => (e.kind === 'flush' ? { source: 'main', barrier: true } : { source: 'multifd', channel: e.packet.channel, sync: e.kind === 'sync' }),
    { channels: 2, mode: 'per-round' },
  );
  t.is(r.stalled, undefined);
  t.is(r.barriers.length, 4);
  // Between consecutive barriers every channel delivered exactly one SYNC, and no page repeats.
  let seen = new Set<number>();
  let barriers = 0;
  for (const e of r.order) {
    if (e.kind === 'flush') {
      barriers++;
      seen = new Set();
    } else if (e.kind === 'pages') {
      for (const o of e.packet.offsets) {
        t.false(seen.has(o), `page ${o} twice between barriers`);
        seen.add(o);
      }
    }
  }
  t.is(barriers, 4);
});
