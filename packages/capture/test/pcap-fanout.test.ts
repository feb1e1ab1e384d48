/**
 * The shared single pass behind Capture.openAll for a compressed pcap: every channel gets its
 * bytes in order whether its reader runs alongside the others or after them (what waits goes to
 * memory, then to a temporary file), a hole ends only its own channel, and a reader that stops
 * early does not stop the others.
 */
import test from 'ava';
import type { CaptureEvent } from '@migwire/pcap';
import { FANOUT_MEMORY_BYTES, fanOut, type FanoutTarget } from '../src/open/pcap-fanout.js';

/** Lane N: connection and side. */
const LANES = [[0, 'a'], [1, 'a'], [1, 'b']] as const;
const chunk = (lane: number, i: number, size = 64 * 1024): Uint8Array => new Uint8Array(size).fill((lane * 31 + i) & 0xff);

/** Three directions interleaved packet by packet, `n` chunks each; lane 2 has a hole after `holeAt` chunks. */
async function* events(n: number, holeAt = Infinity): AsyncGenerator<CaptureEvent> {
  for (let i = 0; i < n; i++) {
    for (const [lane, [connection, from]] of LANES.entries()) {
      if (lane === 2 && i === holeAt) yield { kind: 'stream', connection, from, event: { kind: 'hole', offset: i * 65536, length: 10, reason: 'lost', time: 0 } };
      const bytes = chunk(lane, i);
      yield { kind: 'stream', connection, from, event: { kind: 'data', offset: i * bytes.length, bytes, time: 0, filePos: NaN } };
    }
  }
}

const targets = (reread: () => AsyncIterable<Uint8Array> = async function* () {}): FanoutTarget[] =>
  LANES.map(([connection, side]) => ({
    connection,
    side,
    holeError: (offset) => new Error(`hole at ${offset}`),
    reread,
  }));

async function drain(s: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const b of s) out.push(b);
  return out;
}

const flat = (parts: Uint8Array[]): number[] => parts.flatMap((p) => [...new Set(p)]);

test('read one after the other: the later channels come back whole from memory and the spill file', async (t) => {
  const n = Math.ceil((3 * FANOUT_MEMORY_BYTES) / 65536); // more than the memory share per channel
  const streams = fanOut(events(n), targets(), (e) => e as Error);
  for (let lane = 0; lane < 3; lane++) {
    const got = await drain(streams[lane]!);
    t.is(got.reduce((k, b) => k + b.length, 0), n * 65536, `lane ${lane} length`);
    t.deepEqual([...new Set(flat(got))], [...new Set(Array.from({ length: n }, (_, i) => (lane * 31 + i) & 0xff))]);
  }
});

test('read concurrently: each channel in order, and a hole ends only its own', async (t) => {
  const streams = fanOut(events(20, 5), targets(), (e) => e as Error);
  const [a, b, c] = (await Promise.allSettled(streams.map(drain))) as [PromiseSettledResult<Uint8Array[]>, PromiseSettledResult<Uint8Array[]>, PromiseSettledResult<Uint8Array[]>];
  t.is(a.status, 'fulfilled');
  t.is(b.status, 'fulfilled');
  t.is((a as PromiseFulfilledResult<Uint8Array[]>).value.length, 20);
  t.is(c.status, 'rejected');
  t.regex(String((c as PromiseRejectedResult).reason), /hole at 327680/);
});

test('a reader that stops early leaves the others whole', async (t) => {
  const streams = fanOut(events(10), targets(), (e) => e as Error);
  for await (const _ of streams[0]!) break;
  const rest = await Promise.all([drain(streams[1]!), drain(streams[2]!)]);
  t.deepEqual(rest.map((r) => r.length), [10, 10]);
});
