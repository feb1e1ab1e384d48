/**
 * The default recording file (through the page cache): every byte on disk in order whatever the
 * chunk sizes, a chunk's memory let go only once its bytes are in the file, a trickle of small
 * chunks on disk within a few milliseconds, and a pause asked for past the lag.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PageCacheFile, WRITE_BATCH_BYTES, WRITE_BATCH_MS } from '../src/proxy/page-cache-file.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
}

/** Chunks of hostile sizes: empty, 1 byte, around the batch size, several MiB at once. */
function chunks(seed: number, count: number): Buffer[] {
  const r = rng(seed);
  const sizes = [0, 1, WRITE_BATCH_BYTES - 1, WRITE_BATCH_BYTES, WRITE_BATCH_BYTES + 1, 3 * 1048576 + 7];
  return Array.from({ length: count }, (_, k) => {
    const len = r() < 0.3 ? sizes[Math.floor(r() * sizes.length)]! : Math.floor(r() * 70000);
    return Buffer.alloc(len, k + seed);
  });
}

function scratch(t: { teardown(f: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mw-pagecache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

for (const seed of [1, 2, 3]) {
  test(`seed ${seed}: the file holds every chunk in order; each chunk is let go once, after its bytes are in the file`, async (t) => {
    const path = join(scratch(t), 'out.bin');
    let written = 0;
    const errors: string[] = [];
    const file = new PageCacheFile(path, false, 8 * 1048576, { onError: (m) => errors.push(m), onWritten: (n) => (written += n) });
    const sent = chunks(seed, 200);
    let end = 0;
    const letGo: number[] = [];
    const early: string[] = [];
    for (const [k, c] of sent.entries()) {
      end += c.length;
      const mustHold = end;
      const ok = file.write(c, () => {
        letGo.push(k);
        const onDisk = statSync(path).size;
        if (onDisk < mustHold) early.push(`chunk ${k} let go at ${onDisk} bytes on disk, before its end ${mustHold}`);
      });
      if (!ok) await file.drained();
    }
    await file.close();
    t.deepEqual(errors, []);
    t.deepEqual(early, []);
    t.deepEqual(letGo, sent.map((_, k) => k));
    t.is(written, end);
    t.true(readFileSync(path).equals(Buffer.concat(sent)));
  });
}

test('a trickle of small chunks reaches the file within a few batch intervals, without a drain', async (t) => {
  const path = join(scratch(t), 'out.bin');
  const file = new PageCacheFile(path, false, 8 * 1048576, { onError: () => {}, onWritten: () => {} });
  file.write(Buffer.from('QEVM'));
  file.write(Buffer.alloc(100, 1));
  await new Promise((r) => setTimeout(r, 20 * WRITE_BATCH_MS));
  t.is(statSync(path).size, 104);
  await file.close();
});

test('past its lag the file asks for a pause; drained() resolves once everything is on disk', async (t) => {
  const path = join(scratch(t), 'out.bin');
  const file = new PageCacheFile(path, false, 1048576, { onError: () => {}, onWritten: () => {} });
  t.true(file.write(Buffer.alloc(512 * 1024, 1)));
  t.false(file.write(Buffer.alloc(600 * 1024, 2)));
  await file.drained();
  t.is(statSync(path).size, 1112 * 1024);
  await file.close();
});

test('an existing file is refused unless replacing, and never written through a link', (t) => {
  const dir = scratch(t);
  const path = join(dir, 'out.bin');
  const events = { onError: () => {}, onWritten: () => {} };
  void new PageCacheFile(path, false, 1048576, events).close();
  t.throws(() => new PageCacheFile(path, false, 1048576, events), { message: /already exists/ });
  t.notThrows(() => void new PageCacheFile(path, true, 1048576, events).close());
});
