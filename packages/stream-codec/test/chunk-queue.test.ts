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
