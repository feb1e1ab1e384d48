/** chunks.csv: what the writer writes the reader reads back, whatever way the lines arrive. */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ArrivalTimes, CaptureError, CHUNKS_HEADER, ChunksWriter, MAX_CHUNKS_LINE, readChunks, type ChunkLine } from '../src/index.js';
import { FIXTURES, scratch } from './paths.js';

async function all(path: string, input?: Readable): Promise<ChunkLine[]> {
  const rows: ChunkLine[] = [];
  for await (const r of readChunks(path, input)) rows.push(r);
  return rows;
}

test('writer and reader round-trip: numbered rows, times to the microsecond, offsets and lengths', async (t) => {
  const path = join(scratch('mw-chunks-'), 'chunks.csv');
  const w = new ChunksWriter(path);
  w.row(0.5, 0, 'src2dst', 0, 100);
  w.row(0.6000004, 1, 'src2dst', 0, 7);
  w.row(1.25, 0, 'dst2src', 0, 3);
  w.row(2, 0, 'src2dst', 100, 50);
  t.is(w.count, 4);
  await w.close();
  t.is(readFileSync(path, 'utf8').split('\n')[0], CHUNKS_HEADER);
  const rows = await all(path);
  t.deepEqual(
    rows.map(({ seq, t: time, conn, dir, offset, len }) => ({ seq, t: time, conn, dir, offset, len })),
    [
      { seq: 0, t: 0.5, conn: 0, dir: 'src2dst', offset: 0, len: 100 },
      { seq: 1, t: 0.6, conn: 1, dir: 'src2dst', offset: 0, len: 7 },
      { seq: 2, t: 1.25, conn: 0, dir: 'dst2src', offset: 0, len: 3 },
      { seq: 3, t: 2, conn: 0, dir: 'src2dst', offset: 100, len: 50 },
    ],
  );
  t.deepEqual(rows.map((r) => r.line), [2, 3, 4, 5]);
});

test('writer: many rows, written over many flushes, come back in order; the widest numbers fit', async (t) => {
  const path = join(scratch('mw-chunks-'), 'chunks.csv');
  const w = new ChunksWriter(path);
  const n = 20_000;
  const expected: string[] = [];
  // Offsets follow each other per connection and direction, as a reader requires.
  const at = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const big = i % 1000 === 999;
    const key = `${i % 5}.${i % 2}`;
    const off = at.get(key) ?? 0;
    const [time, len] = big ? [1e15 + i / 7, 16 * 1024 * 1024] : [i / 1000, 65536];
    at.set(key, off + len);
    w.row(time, i % 5, i % 2 ? 'dst2src' : 'src2dst', off, len);
    expected.push(`${i},${time.toFixed(6)},${i % 5},${i % 2 ? 'dst2src' : 'src2dst'},${off},${len}`);
  }
  await w.close();
  t.is(w.count, n);
  t.is(readFileSync(path, 'latin1'), [CHUNKS_HEADER, ...expected, ''].join('\n'));
  t.is((await all(path)).length, n);
});

test('lines split across reads (and CRLF endings) read the same as whole lines', async (t) => {
  const text = readFileSync(join(FIXTURES, '7.2-c-multifd4-zstd', 'chunks.csv'), 'utf8');
  const whole = await all(join(FIXTURES, '7.2-c-multifd4-zstd', 'chunks.csv'));
  t.true(whole.length > 50);
  // Pieces of 7 bytes: nearly every line is cut somewhere, some inside a number.
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += 7) pieces.push(text.slice(i, i + 7));
  t.deepEqual(await all('split.csv', Readable.from(pieces)), whole);
  t.deepEqual(await all('crlf.csv', Readable.from([text.replace(/\n/g, '\r\n')])), whole);
});

test('a broken chunks.csv is a CaptureError with the path and line', async (t) => {
  const dir = scratch('mw-chunks-bad-');
  const p = join(dir, 'chunks.csv');
  writeFileSync(p, 'seq,t,conn,dir,offset,len\n0,0.1,0,src2dst,0,10\n1,0.2,0,sideways,10,4\n');
  const e = await t.throwsAsync(all(p), { instanceOf: CaptureError, message: /line 3: bad row/ });
  t.is(e?.path, p);
  writeFileSync(p, 'seq,t,conn,direction,offset,len\n');
  await t.throwsAsync(all(p), { instanceOf: CaptureError, message: /header has no "dir" column/ });
  writeFileSync(p, '');
  await t.throwsAsync(all(p), { instanceOf: CaptureError, message: /empty/ });
  writeFileSync(p, 'seq,t,conn,dir,offset,len\n0,0.1,0,src2dst,0,99999999999\n');
  await t.throwsAsync(all(p), { message: /line 2: bad row/ });
});

test('a chunks.csv line longer than MAX_CHUNKS_LINE ends the read: line, byte offset and a short quote, not the line', async (t) => {
  const p = join(scratch('mw-chunks-long-'), 'chunks.csv');
  const head = `${CHUNKS_HEADER}\n0,0.1,0,src2dst,0,10\n`;
  writeFileSync(p, `${head}1,0.2,0,src2dst,10,${'9'.repeat(8 << 20)}\n2,0.3,0,src2dst,20,4\n`);
  // What `check` and `report` meet: the arrival times of the capture.
  const e = await t.throwsAsync(ArrivalTimes.load(p), { instanceOf: CaptureError });
  t.is(e?.code, 'CHUNKS_LINE_TOO_LONG');
  t.is(e?.path, p);
  t.true(e!.message.startsWith(`${p} line 3 (byte ${head.length}): longer than ${MAX_CHUNKS_LINE} bytes`), e!.message);
  t.regex(e!.message, /it starts "1,0\.2,0,src2dst,10,9+"…$/);
  t.true(e!.message.length < p.length + 160, `a short message (${e!.message.length} characters)`);
  // A row at the bound still reads (real rows are under 200 bytes).
  writeFileSync(p, `${head}1,0.2,0,src2dst,10,4${' '.repeat(MAX_CHUNKS_LINE - 20)}\n`);
  t.is((await all(p)).length, 2);
});

test('an endless chunks.csv line is refused after reading little more than the bound: memory stays flat', async (t) => {
  let given = 0;
  const piece = Buffer.alloc(64 * 1024, 0x37);
  async function* endless(): AsyncGenerator<Buffer> {
    yield Buffer.from(`${CHUNKS_HEADER}\n`);
    for (;;) {
      given += piece.length;
      yield piece;
    }
  }
  const e = await t.throwsAsync(all('endless.csv', Readable.from(endless())), { instanceOf: CaptureError });
  t.is(e?.code, 'CHUNKS_LINE_TOO_LONG');
  t.true(e!.message.startsWith(`endless.csv line 2 (byte ${CHUNKS_HEADER.length + 1}): longer than ${MAX_CHUNKS_LINE} bytes`), e!.message);
  t.true(given <= MAX_CHUNKS_LINE + 2 * piece.length, `read ${given} bytes of the line before refusing it`);
});

test('a bad row is quoted by its first characters only', async (t) => {
  const p = join(scratch('mw-chunks-quote-'), 'chunks.csv');
  writeFileSync(p, `${CHUNKS_HEADER}\n0,0.1,0,src2dst,0,${'x'.repeat(3000)}\n`);
  const e = await t.throwsAsync(all(p), { instanceOf: CaptureError, message: /line 2: bad row "0,0\.1,0,src2dst,0,x+"… \(byte \d+\)$/ });
  t.is(e?.code, 'CHUNKS_BAD_ROW');
  t.true(e!.message.endsWith(`(byte ${CHUNKS_HEADER.length + 1})`), e!.message);
  t.true(e!.message.length < p.length + 100, e!.message);
});

test('rows must follow each other from offset 0 per connection and direction; offsets and lengths are whole numbers', async (t) => {
  const p = join(scratch('mw-chunks-order-'), 'chunks.csv');
  const bad: Array<[string, RegExp]> = [
    ['0,0.1,0,src2dst,0,10\n1,0.2,0,src2dst,5,10', /line 3: connection 0 src2dst chunk at offset 5, expected 10/],
    ['0,0.1,0,src2dst,0,10\n1,0.2,0,src2dst,11,10', /line 3: connection 0 src2dst chunk at offset 11, expected 10/],
    ['0,0.1,0,dst2src,4,10', /line 2: connection 0 dst2src chunk at offset 4, expected 0/],
    ['0,0.1,-1,src2dst,0,10', /line 2: bad row/],
    ['0,0.1,0,src2dst,0.5,10', /line 2: bad row/],
    ['0,0.1,0,src2dst,0,2.5', /line 2: bad row/],
    ['0,0x10,0,src2dst,0,10', /line 2: bad row/],
    ['0,-5,0,src2dst,0,10', /line 2: bad row/],
  ];
  for (const [rows, message] of bad) {
    writeFileSync(p, `${CHUNKS_HEADER}\n${rows}\n`);
    const e = await t.throwsAsync(all(p), { instanceOf: CaptureError, message });
    t.is(e?.code, 'CHUNKS_BAD_ROW');
  }
  writeFileSync(p, `${CHUNKS_HEADER}\n0,0.1,0,src2dst,0,10\n1,0.2,1,src2dst,0,3\n2,0.3,0,dst2src,0,1\n3,0.4,0,src2dst,10,0\n4,0.5,0,src2dst,10,5\n`);
  t.is((await all(p)).length, 5, 'interleaved directions and an empty chunk are fine');
});
