/**
 * Transcode's flat memory: what a sink is given is valid only during the call, so SocketSink copies
 * into a few reused gather buffers, and pages waiting for their packet sit in reused page slots.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { PageSlots } from '../src/transcode/page-slots.js';
import { SocketSink } from '../src/transcode/sinks.js';
import { tcpPeer } from './transcode-helpers.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('SocketSink copies what it is given and reuses a few gather buffers for 64 MiB', async (t) => {
  const got = createHash('sha256');
  let received = 0;
  let ended!: () => void;
  const done = new Promise<void>((r) => (ended = r));
  const peer = await tcpPeer((s) => {
    s.on('data', (b: Buffer) => {
      got.update(b);
      received += b.length;
    });
    s.on('end', () => ended());
  });
  const socket: Socket = connect(peer.port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  try {
    const sink = new SocketSink('main', socket);
    const sent = createHash('sha256');
    // One reused part, scribbled over after every write: the peer must get what each write held.
    const part = new Uint8Array(65_536 + 7);
    const total = 1024;
    for (let i = 0; i < total; i++) {
      part.fill(i & 0xff);
      part[0] = i >> 8;
      sent.update(part);
      sink.write([part.subarray(0, 100), part.subarray(100)]);
      part.fill(0xee);
      await sink.ready();
    }
    sink.end();
    await done;
    t.is(received, total * part.length);
    t.is(got.digest('hex'), sent.digest('hex'), 'the bytes each write held when it was made');
    t.is(sink.bytes, total * part.length);
    t.true(sink.gatherBuffers <= 8, `${sink.gatherBuffers} gather buffers of 256 KiB for 64 MiB`);
  } finally {
    socket.destroy();
    peer.close();
  }
});

test('PageSlots: a kept page is a copy; released slots are reused, so memory is the most pages kept at once', (t) => {
  const slots = new PageSlots(4096);
  const page = new Uint8Array(4096).fill(7);
  const kept = Array.from({ length: 300 }, (_, i) => {
    page.fill(i & 0xff);
    return slots.keep(page);
  });
  page.fill(0xaa);
  t.true(kept.every((k, i) => k.every((b) => b === (i & 0xff))), 'each copy holds the page as it was kept');
  const bytes = slots.bytes;
  t.is(bytes, 2 * 256 * 4096, 'two slabs for 300 pages');
  for (const k of kept) slots.release(k);
  for (let round = 0; round < 50; round++) {
    const again = Array.from({ length: 300 }, () => slots.keep(page));
    for (const k of again) slots.release(k);
  }
  t.is(slots.bytes, bytes, '15,000 more pages kept and released in rounds of 300: no new slab');
  // A page of another size is copied plainly; releasing it (or a foreign buffer) is ignored.
  const odd = slots.keep(new Uint8Array(100).fill(3));
  t.is(sha(odd), sha(new Uint8Array(100).fill(3)));
  slots.release(odd);
  slots.release(new Uint8Array(4096));
  t.is(slots.bytes, bytes);
});
