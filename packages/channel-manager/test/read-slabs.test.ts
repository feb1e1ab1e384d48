/**
 * The source side of the proxy reads into reused slabs: bytes must stay exact when a slab is
 * read into again, which happens only after every hand-off of its views is released.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_READ_BYTES, ReadSlabs, SLAB_BYTES, type Slab } from '../src/proxy/read-slabs.js';
import { RecordingProxy } from '../src/index.js';
import { adoptWithSlabReads } from '../src/proxy/slab-socket.js';
import { KiB, MiB, sendThrough, sha, slowServer, startProxy, startServer, tempDir } from './helpers/proxy.js';
import { connectTo, HOST } from './helpers/sockets.js';

/** `size` bytes in which every 4 KiB block differs (its number, then a fill from it): a block read into the wrong place shows. */
function numberedStream(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let o = 0, i = 0; o < size; o += 4096, i++) {
    b.fill((i * 31 + 7) & 0xff, o, Math.min(size, o + 4096));
    if (o + 8 <= size) b.writeDoubleBE(i, o);
  }
  return b;
}

test('ReadSlabs: a slab is read into again only once every hold is released; a read is offered at least MIN_READ_BYTES', (t) => {
  const slabs = new ReadSlabs();
  const first = slabs.target();
  t.is(first.length, SLAB_BYTES);
  const reads: Array<{ view: Buffer; slab: Slab }> = [];
  // Fill the first slab to within less than MIN_READ_BYTES of its end.
  const n = SLAB_BYTES - MIN_READ_BYTES + 1;
  slabs.target();
  reads.push(slabs.took(n));
  reads[0]!.slab.holds += 2;
  const second = slabs.target();
  t.true(second.length >= MIN_READ_BYTES);
  t.not(second.buffer, first.buffer, 'the nearly full slab is left');
  reads.push(slabs.took(SLAB_BYTES));
  // The second slab is full too: the next slab is new while the first is still held.
  const third = slabs.target();
  t.not(third.buffer, first.buffer, 'a held slab is not read into');
  slabs.release(reads[0]!.slab);
  slabs.took(SLAB_BYTES);
  t.not(slabs.target().buffer, first.buffer, 'one hold left: still not reused');
  slabs.release(reads[0]!.slab);
  slabs.took(SLAB_BYTES);
  const fourth = slabs.target();
  t.true(fourth.buffer === first.buffer || fourth.buffer === second.buffer, 'released slabs are read into again');
});

test('ReadSlabs without recycling never hands out a slab twice', (t) => {
  const slabs = new ReadSlabs({ recycle: false });
  const seen = new Set<ArrayBufferLike>();
  for (let i = 0; i < 20; i++) {
    const room = slabs.target();
    const { slab } = slabs.took(room.length);
    t.false(seen.has(slab.bytes.buffer));
    seen.add(slab.bytes.buffer);
  }
});

// Serial: a fast source and a slow destination, so slabs are retired and reused many times.
test.serial('a source outrunning a slow destination: the destination and the file get every numbered block in place', async (t) => {
  const dir = tempDir(t);
  const data = numberedStream(96 * MiB + 12_345);
  const srv = await slowServer(t, 3 * MiB, 3);
  const { proxy, port } = await startProxy(t, srv.port, dir);
  const index = await sendThrough(proxy, port, data, 512 * KiB);
  const d = index.connections[0]!.directions.src2dst;
  t.true(index.all_recorded_equals_forwarded);
  t.is(sha(await srv.received), sha(data), 'the destination got the stream exactly');
  t.is(createHash('sha256').update(readFileSync(join(dir, d.file))).digest('hex'), sha(data), 'the file holds the stream exactly');
  t.is(d.sha256, sha(data));
  t.true(d.chunks < data.length / (64 * KiB), `reads were larger than 64 KiB (${d.chunks} reads)`);
});

test('onChunk sees each read as it arrives: copied during the call, the reads make up the stream', async (t) => {
  const data = numberedStream(24 * MiB + 99);
  const srv = await startServer(t, (s) => {
    s.resume();
    s.on('end', () => s.end());
  });
  const copies: Buffer[] = [];
  const proxy = new RecordingProxy({ listen: { host: HOST, port: 0 }, target: { host: HOST, port: srv.port }, onChunk: (_c, dir, chunk) => dir === 'src2dst' && copies.push(Buffer.from(chunk)) });
  const { port } = await proxy.start();
  await sendThrough(proxy, port, data, 1 * MiB);
  t.is(sha(Buffer.concat(copies)), sha(data));
});

test('a socket that cannot be re-made (no handle, or already reading) is left as it is', async (t) => {
  const srv = await startServer(t, (s) => s.resume());
  const s = await connectTo(srv.port);
  t.teardown(() => s.destroy());
  t.false(s.isPaused());
  t.is(adoptWithSlabReads(s, new ReadSlabs(), true), undefined, 'a flowing socket');
  s.pause();
  const shell = s as unknown as { _handle: unknown };
  const handle = shell._handle;
  shell._handle = null;
  t.is(adoptWithSlabReads(s, new ReadSlabs(), true), undefined, 'no handle');
  shell._handle = handle;
});
