/**
 * replay against destinations that misbehave, as a hostile-input sweep found them: bytes back that
 * are no return path, a destination that stops reading.
 */
import test from 'ava';
import type { Socket } from 'node:net';
import { main as main_, MemoryOutput, replayCapture } from '../src/index.js';
import { bytes, FakeDestination, makeCapture, QEVM } from './replay-helpers.js';

// Found by a sweep: a destination answering with bytes that are no return path was "accepted".
test('a destination whose return path does not decode: failed, the decode error named, on stderr too', async (t) => {
  const dir = makeCapture([{ src: bytes(200_000, 1, QEVM) }]);
  const dst = new FakeDestination((s) => {
    s.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    s.on('data', () => undefined);
    s.on('end', () => s.end());
  });
  const target = await dst.start();
  try {
    const o = new MemoryOutput();
    const code = await main_(['replay', dir, '--target', `127.0.0.1:${target.port}`, '--quiet', '--idle-timeout', '500'], o);
    t.is(code, 1);
    t.regex(o.lines.join('\n'), /replay: failed: the destination's return path on main does not decode: .*UNKNOWN_RP_MESSAGE/);
    t.regex(o.errors.join('\n'), /^migwire: replay failed: the destination's return path on main does not decode/m);
  } finally {
    await dst.close();
  }
});

// Found by a sweep: a destination that stopped reading kept replay waiting for the whole --timeout.
test('a destination that stops reading: failed once nothing has gone out for the stall timeout, the waiting bytes named', async (t) => {
  const dir = makeCapture([{ src: bytes(30_000_000, 1, QEVM) }]);
  const held: Socket[] = [];
  const dst = new FakeDestination((s) => {
    held.push(s);
    s.pause();
  });
  const target = await dst.start();
  try {
    const t0 = performance.now();
    const r = await replayCapture(dir, { target, stallTimeoutMs: 500, timeoutMs: 60_000 });
    t.is(r.outcome, 'failed');
    t.regex(r.reason ?? '', /the destination read nothing more for 500 ms: connection 0 \(main\) has \d+ bytes waiting after \d+ sent/);
    t.true(performance.now() - t0 < 30_000, 'well before the overall timeout');
  } finally {
    for (const s of held) s.destroy(); // a paused socket never reads the close
    await dst.close();
  }
});
