/**
 * ChunkQueue.equalsAt is what `check --roundtrip` compares re-encoded records with: it must find
 * every differing byte wherever the chunk boundaries fall, and treat a view of the queued bytes
 * themselves (a decoded page re-encoded as-is) as equal.
 */
import test from 'ava';
import { ChunkQueue } from '../src/internal.js';

function queueOf(bytes: Uint8Array, cuts: number[]): ChunkQueue {
  const q = new ChunkQueue();
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    q.push(bytes.subarray(at, c));
    at = c;
  }
  return q;
}

const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 0xff);

test('equal runs compare equal across every chunk split, short and long', (t) => {
  for (const cut of [1, 5, 63, 64, 65, 150, 299]) {
    const q = queueOf(data, [cut]);
    for (const [from, n] of [[0, 8], [0, 300], [cut - 1, 2], [10, 100], [290, 10]] as const) {
      if (from < 0 || from + n > 300) continue;
      t.true(q.equalsAt(from, data.slice(from, from + n)), `cut ${cut}, ${n} bytes at ${from}`);
    }
  }
});

test('one differing byte anywhere is found, wherever the chunks split', (t) => {
  for (const cut of [1, 64, 150]) {
    const q = queueOf(data, [cut]);
    for (const flip of [0, 7, 63, 64, 149, 150, 151, 299]) {
      const other = data.slice();
      other[flip]! ^= 1;
      t.false(q.equalsAt(0, other), `cut ${cut}, byte ${flip}`);
      t.false(q.equalsAt(flip, other.subarray(flip, flip + 1)), `cut ${cut}, single byte ${flip}`);
    }
  }
});

test('a view of the queued bytes is equal without comparing, and empty is equal at the end', (t) => {
  const q = queueOf(data, [100, 200]);
  t.true(q.equalsAt(120, data.subarray(120, 180)));
  t.true(q.equalsAt(300, new Uint8Array(0)));
  q.skip(50);
  t.true(q.equalsAt(70, data.subarray(120, 250)));
});

// takeJoined is how a multifd payload split across received chunks is handed out with
// transientPayloads: joined into one reused buffer, never a fresh one. (Chunks this large are
// queued as given; small ones are gathered into the queue's own scratch.)
const big = Uint8Array.from({ length: 3 * 65536 }, (_, i) => (i * 7 + 3) & 0xff);
test('takeJoined: the same bytes as take at every split, joined into the one buffer given, a view when unsplit', (t) => {
  const into = new Uint8Array(big.length);
  const n = 2 * 65536;
  for (const c1 of [65536, 65536 + 4097, 2 * 65536 + 1]) {
    for (const c2 of [c1 + 65536, big.length - 1]) {
      if (c2 <= c1 || c2 >= big.length) continue;
      const q = queueOf(big, [c1, c2]);
      q.skip(1);
      const got = q.takeJoined(n, into);
      t.true(Buffer.from(got).equals(big.subarray(1, n + 1)), `cuts ${c1},${c2}`);
      t.is(q.offset, n + 1);
      t.is(q.length, big.length - n - 1);
      const split = [c1, c2].some((c) => c > 1 && c < n + 1);
      t.is(got.buffer, split ? into.buffer : big.buffer, split ? 'split: joined into the buffer given' : 'unsplit: a view of the queued bytes');
    }
  }
  const q = queueOf(big, [65536, 2 * 65536]);
  const first = q.takeJoined(100000, into);
  t.true(Buffer.from(first).equals(big.subarray(0, 100000)));
  const second = q.takeJoined(96608, into);
  t.true(Buffer.from(second).equals(big.subarray(100000)), 'the same buffer serves the next payload');
  t.is(q.length, 0);
});
