/**
 * extract's background writer: pages sent more than once end with their last copy, reads of a
 * page still queued see the newest bytes, and buffers a queued write holds are reported in use.
 */
import test from 'ava';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
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
