/**
 * extract's background writer: pages sent more than once end with their last copy, reads of a
 * page still queued see the newest bytes, and buffers a queued write holds are reported in use.
 */
import test from 'ava';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrderedWriter } from '../src/extract/ordered-writer.js';

const page = (v: number): Uint8Array => new Uint8Array(4096).fill(v);

test('the last copy of a page wins, whatever was queued before it', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'mw-ow-')), 'img');
  const fd = openSync(file, 'w+');
  const w = new OrderedWriter();
  // Many runs of two pages each (a gap breaks every run), then page 0 and 2 again.
  for (let round = 1; round <= 50; round++) {
    w.put(fd, 0, page(round), false);
    w.put(fd, 4096, page(round), false);
    w.put(fd, 3 * 4096, page(round), true);
    const wait = w.ready();
    if (wait) await wait;
  }
  w.put(fd, 0, page(200), false);
  const seen = new Uint8Array(4096);
  t.true(w.unwritten(fd, 0, seen));
  t.is(seen[0], 200, 'a read of a page still queued sees its newest bytes');
  await w.close();
  t.false(w.unwritten(fd, 0, seen));
  closeSync(fd);
  const img = readFileSync(file);
  t.is(img.length, 4 * 4096);
  t.is(img[0], 200);
  t.is(img[4096], 50);
  t.is(img[2 * 4096], 0, 'a page never written stays a hole');
  t.is(img[3 * 4096], 50);
});

test('a buffer whose view waits in a queued write is in use until written', async (t) => {
  const fd = openSync(join(mkdtempSync(join(tmpdir(), 'mw-ow-')), 'img'), 'w+');
  const w = new OrderedWriter();
  const readBuffer = new Uint8Array(8192).fill(7);
  w.put(fd, 0, readBuffer.subarray(0, 4096), true);
  t.true(w.inUse(readBuffer.buffer));
  await w.close();
  t.false(w.inUse(readBuffer.buffer));
  closeSync(fd);
});

test('runs written side by side still leave every page with its last copy (random runs, many overlapping)', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'mw-ow-')), 'img');
  const fd = openSync(file, 'w+');
  const w = new OrderedWriter();
  const PAGES = 96;
  const model = new Uint8Array(PAGES); // the value each page's last copy was filled with
  let seed = 99;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (let k = 1; k <= 3000; k++) {
    // A stretch of adjacent pages (one run, or cut into several by the writer's limits), anywhere.
    const first = rand(PAGES);
    const count = 1 + rand(Math.min(8, PAGES - first));
    const v = 1 + (k % 250);
    for (let p = first; p < first + count; p++) {
      w.put(fd, p * 4096, page(v), rand(2) === 0);
      model[p] = v;
    }
    // A gap now and then ends the run being gathered: more runs in flight at once.
    if (rand(3) === 0) w.flush();
    const wait = w.ready();
    if (wait) await wait;
  }
  await w.close();
  closeSync(fd);
  const img = readFileSync(file);
  const wrong: number[] = [];
  for (let p = 0; p < PAGES; p++) if ((p * 4096 < img.length ? img[p * 4096] : 0) !== model[p] || (model[p] && img[p * 4096 + 4095] !== model[p])) wrong.push(p);
  t.deepEqual(wrong, []);
});

test('a page sent again right after a long run that holds it ends with the later copy, every time', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'mw-ow-')), 'img');
  const fd = openSync(file, 'w+');
  const w = new OrderedWriter();
  let wrong = 0;
  for (let k = 0; k < 400; k++) {
    // 64 pages in one run, then the last of them again alone: two writes the pool could run at once.
    for (let p = 0; p < 64; p++) w.put(fd, p * 4096, page(1 + (k % 100)), true);
    w.flush();
    w.put(fd, 63 * 4096, page(200), false);
    w.flush();
    await w.close();
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, 63 * 4096);
    if (b[0] !== 200) wrong++;
  }
  closeSync(fd);
  t.is(wrong, 0);
});
