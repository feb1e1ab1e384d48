/**
 * ArrivalTimes: a channel captured mid-stream decodes from `skipped` captured bytes in, while the
 * packet times were added per captured byte; lookups by channel offset must land on the packet that
 * held that byte, and the span covers every stream.
 */
import test from 'ava';
import { ArrivalTimes } from '../src/index.js';

test('a mid-stream channel: offset 0 is the captured byte `skipped` in, not the first captured byte', (t) => {
  const times = new ArrivalTimes();
  // Packets of 1000 captured bytes at 1 s, 2 s, 3 s; decoding starts 1500 bytes in.
  times.add(0, 'src2dst', 0, 1);
  times.add(0, 'src2dst', 1000, 2);
  times.add(0, 'src2dst', 2000, 3);
  times.add(0, 'dst2src', 0, 1.5);
  times.setOrigin(0, 'src2dst', 1500);
  t.is(times.at(0, 'src2dst', 0), 2, 'channel byte 0 is captured byte 1500, in the second packet');
  t.is(times.at(0, 'src2dst', 499), 2);
  t.is(times.at(0, 'src2dst', 500), 3, 'channel byte 500 is captured byte 2000, the third packet');
  t.is(times.at(0, 'dst2src', 0), 1.5, 'the other direction keeps its own origin');
  t.deepEqual(times.runs(0, 'src2dst')?.offsets, [0, 1000, 2000], 'runs stay in captured bytes');
  t.deepEqual(times.span(), { first: 1, last: 3 });
  t.is(new ArrivalTimes().span(), undefined);
});
