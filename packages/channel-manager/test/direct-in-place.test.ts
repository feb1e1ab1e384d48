/**
 * `record --direct-io` in place: the source's bytes read into aligned slabs are written with
 * O_DIRECT straight from them. The file must hold exactly the stream however the reads fall,
 * and a slab must not be read into again before the bytes written from it are on disk: reads
 * here land in slabs that are reused as soon as they are let go, so a slab let go early would
 * put later bytes in the file.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectionRecorder } from '../src/proxy/direction.js';
import { allowsDirect } from './helpers/direct.js';
import { ReadSlabs, SLAB_BYTES, Slab } from '../src/proxy/read-slabs.js';
import { ALIGN } from '../src/proxy/aligned-memory.js';
import { MiB, sendThrough, sha, slowServer } from './helpers/proxy.js';
import { RecordingProxy } from '../src/index.js';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'mw-inplace-'));

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
}

/** Stream byte i: differs from block to block and within a block. */
const byteAt = (i: number): number => (i * 7 + Math.floor(i / 4096) * 13) & 0xff;

/**
 * Read `total` stream bytes into `slabs` in reads of hostile sizes (as a socket would), hand each
 * to the recorder holding its slab, and let go when the recorder is done; `unalignedFrom`: from
 * that offset on, reads land in unaligned memory (the slabs ran out of aligned memory).
 */
async function record(rec: DirectionRecorder, slabs: ReadSlabs, total: number, seed: number, unalignedFrom = Infinity): Promise<void> {
  const r = rng(seed);
  const sizes = [1, ALIGN - 1, ALIGN + 1, 65536, SLAB_BYTES, 200_000];
  let plain: Slab | undefined;
  for (let at = 0; at < total; ) {
    const room = at >= unalignedFrom ? (plain = new Slab(Buffer.alloc(SLAB_BYTES), false)).bytes : slabs.target();
    const n = Math.min(room.length, total - at, r() < 0.4 ? sizes[Math.floor(r() * sizes.length)]! : 1 + Math.floor(r() * 300_000));
    for (let i = 0; i < n; i++) room[i] = byteAt(at + i);
    const { view, slab } = at >= unalignedFrom ? { view: room.subarray(0, n), slab: plain! } : slabs.took(n);
    slab.holds++;
    const ok = rec.record(view, 0, () => slabs.release(slab), slab);
    at += n;
    if (!ok) await rec.drained();
    // Sometimes let the event loop run (writes complete, slabs come back) mid-slab.
    if (r() < 0.2) await new Promise((res) => setImmediate(res));
  }
}

const expected = (total: number): Buffer => {
  const b = Buffer.allocUnsafe(total);
  for (let i = 0; i < total; i++) b[i] = byteAt(i);
  return b;
};

for (const [seed, total, unalignedFrom] of [
  [1, 1, Infinity],
  [2, ALIGN, Infinity],
  [3, 9 * MiB + 12_345, Infinity],
  [4, 20 * MiB, Infinity],
  [5, 12 * MiB + 77, 5 * MiB + 3],
] as const) {
  test(`seed ${seed}: ${total} bytes${unalignedFrom < total ? `, unaligned from ${unalignedFrom}` : ''}: the file holds exactly the stream`, async (t) => {
    const dir = scratch();
    try {
      const path = join(dir, 'conn00.src2dst.bin');
      const rec = new DirectionRecorder('src2dst', 'conn00.src2dst.bin', path, (m) => t.fail(m), 8 * MiB, false, true);
      if (!allowsDirect(dir)) return t.pass('no O_DIRECT here');
      t.true(rec.directIo);
      await record(rec, new ReadSlabs({ aligned: true }), total, seed, unalignedFrom);
      await rec.close();
      t.true(readFileSync(path).equals(expected(total)));
      t.is(rec.stats().bytes_written, total);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('ReadSlabs aligned: every byte sits at its stream offset modulo ALIGN, across slab changes', (t) => {
  const slabs = new ReadSlabs({ aligned: true });
  const r = rng(9);
  let at = 0;
  for (let k = 0; k < 400; k++) {
    const room = slabs.target();
    const n = Math.min(room.length, 1 + Math.floor(r() * 150_000));
    const { view, slab } = slabs.took(n);
    t.true(slab.aligned);
    t.is(slab.base % ALIGN, 0);
    t.is((view.byteOffset - slab.bytes.byteOffset) % ALIGN, (at - slab.base) % ALIGN);
    t.is(view.byteOffset - slab.bytes.byteOffset, at - slab.base);
    at += n;
  }
});

test.serial('record --direct-io through the proxy: a slow destination, the file and the destination get every byte', async (t) => {
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  if (!allowsDirect(dir)) return t.pass('no O_DIRECT here');
  const data = expected(64 * MiB + 4321);
  const srv = await slowServer(t, 2 * MiB, 2);
  const proxy = new RecordingProxy({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: srv.port }, outDir: join(dir, 'rec'), directIo: true });
  const { port } = await proxy.start();
  const index = await sendThrough(proxy, port, data, 1 * MiB);
  t.true(index.all_recorded_equals_forwarded);
  t.is(sha(await srv.received), sha(data));
  t.is(sha(readFileSync(join(dir, 'rec', 'conn00.src2dst.bin'))), sha(data));
});
