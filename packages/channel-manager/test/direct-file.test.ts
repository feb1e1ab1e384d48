/**
 * `record --direct-io`: a direction recorded with O_DIRECT must hold exactly the bytes received,
 * whatever the chunk sizes (O_DIRECT writes whole aligned blocks; the tail is padded and cut
 * back), keep up on a quiet connection, pause the reader past its lag, and fall back to the page
 * cache where the file system refuses O_DIRECT.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectionRecorder } from '../src/proxy/direction.js';
import { allowsDirect } from './helpers/direct.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
}

/** Chunks of hostile sizes: 1 byte, odd sizes around block and batch edges, several MiB at once. */
function chunks(seed: number, total: number): Buffer[] {
  const r = rng(seed);
  const sizes = [1, 4095, 4097, 65536, 1048575, 1048577, 3 * 1048576 + 7];
  const out: Buffer[] = [];
  let n = 0;
  while (n < total) {
    const len = Math.min(total - n, r() < 0.3 ? sizes[Math.floor(r() * sizes.length)]! : 1 + Math.floor(r() * 70000));
    const b = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) b[i] = (n + i) * 31 + (seed & 0xff);
    out.push(b);
    n += len;
  }
  return out;
}

const scratch = (): string => mkdtempSync(join(tmpdir(), 'mw-direct-'));

for (const [seed, total] of [
  [1, 0],
  [2, 1],
  [3, 4096],
  [4, 10 * 1048576 + 123],
  [5, 3 * 1048576],
] as const) {
  test(`seed ${seed}, ${total} bytes: the file holds exactly the bytes received, counted as written`, async (t) => {
    const dir = scratch();
    try {
      const path = join(dir, 'conn00.src2dst.bin');
      const rec = new DirectionRecorder('src2dst', 'conn00.src2dst.bin', path, (m) => t.fail(m), 8 * 1048576, false, true);
      t.is(rec.directIo, allowsDirect(dir));
      const parts = chunks(seed, total);
      for (const c of parts) {
        if (!rec.record(c, 0)) await rec.drained();
      }
      await rec.close();
      const want = Buffer.concat(parts);
      t.is(statSync(path).size, total);
      t.true(readFileSync(path).equals(want));
      const st = rec.stats();
      t.is(st.bytes_written, total);
      t.is(st.bytes_received, total);
      t.true(st.recorded_equals_forwarded || total === 0 || st.bytes_sent !== total);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a quiet connection: whole blocks reach the file without waiting for a full batch', async (t) => {
  const dir = scratch();
  try {
    const path = join(dir, 'conn00.src2dst.bin');
    const rec = new DirectionRecorder('src2dst', 'conn00.src2dst.bin', path, (m) => t.fail(m), 8 * 1048576, false, true);
    rec.record(Buffer.alloc(10000, 7), 0);
    await new Promise((r) => setTimeout(r, 100));
    await rec.drained();
    // O_DIRECT: the 2 whole blocks; through the page cache: all of it.
    t.is(statSync(path).size, rec.directIo ? 8192 : 10000);
    await rec.close();
    t.is(statSync(path).size, 10000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('past its lag the recorder asks for the reader to pause, and drains', async (t) => {
  const dir = scratch();
  try {
    const rec = new DirectionRecorder('src2dst', 'f.bin', join(dir, 'f.bin'), (m) => t.fail(m), 2 * 1048576, false, true);
    let paused = false;
    for (let i = 0; i < 64 && !paused; i++) paused = !rec.record(Buffer.alloc(65536, i), 0);
    t.true(paused, 'record() said false once 2 MiB were waiting');
    await rec.drained();
    t.true(rec.written >= 2 * 1048576 - 65536);
    await rec.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const shm = '/dev/shm';
(existsSync(shm) ? test : test.skip)('on tmpfs: byte-exact, with O_DIRECT where this kernel allows it there (6.6+), else through the page cache', async (t) => {
  const dir = mkdtempSync(join(shm, 'mw-direct-'));
  try {
    const path = join(dir, 'f.bin');
    const rec = new DirectionRecorder('src2dst', 'f.bin', path, (m) => t.fail(m), 8 * 1048576, false, true);
    t.is(rec.directIo, allowsDirect(dir));
    if (!rec.directIo) t.log('tmpfs here refuses O_DIRECT: the fallback was exercised');
    const parts = chunks(9, 2 * 1048576 + 5);
    for (const c of parts) rec.record(c, 0);
    await rec.close();
    t.true(readFileSync(path).equals(Buffer.concat(parts)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
