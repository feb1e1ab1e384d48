/**
 * openCapture on every input a user hands the tools: a capture directory, a directory with
 * stream.bin / stream.bin.gz, a plain stream file, a .gz, standard input; and damaged input
 * reported as a CaptureError naming the file.
 */
import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { CaptureError, makeDirs, openCapture, OutputError, prepareOutputDir } from '../src/index.js';
import { collect, FIXTURES, scratch } from './paths.js';

const STREAM_GZ = join(FIXTURES, '10.0-precopy-file', 'stream.bin.gz');
const streamBytes = (): Buffer => gunzipSync(readFileSync(STREAM_GZ));

test('a capture directory: every connection and direction with its role, and arrival times from chunks.csv', async (t) => {
  const c = await openCapture(join(FIXTURES, '10.0-g-postcopy-preempt'));
  t.is(c.kind, 'capture');
  t.deepEqual(
    c.channels.map((ch) => [ch.name, ch.role, ch.conn, ch.direction]),
    [
      ['main', 'main', 0, 'src2dst'],
      ['return-path', 'return-path', 0, 'dst2src'],
      ['postcopy-preempt', 'postcopy-preempt', 1, 'src2dst'],
      ['conn01.dst2src', 'empty', 1, 'dst2src'],
    ],
  );
  t.is(c.index?.format, 'qemu-migration-capture/tcp-proxy/1');
  t.is(c.channels[0]!.size, 18289788, 'size is the unpacked length');
  const times = await c.arrivals();
  t.truthy(times);
  const first = times!.at(0, 'src2dst', 0)!;
  t.true(first >= 0);
  t.true(times!.at(0, 'src2dst', 18289787)! >= first, 'later bytes arrive no earlier');
});

test('a directory with stream.bin.gz, and one with a plain stream.bin: one main channel, no arrival times', async (t) => {
  const gzDir = scratch('mw-cap-sgz-');
  copyFileSync(STREAM_GZ, join(gzDir, 'stream.bin.gz'));
  const plainDir = scratch('mw-cap-s-');
  writeFileSync(join(plainDir, 'stream.bin'), streamBytes());
  for (const dir of [gzDir, plainDir]) {
    const c = await openCapture(dir);
    t.deepEqual(c.channels.map((ch) => [ch.name, ch.role]), [['main', 'main']]);
    t.is(await c.arrivals(), undefined);
    t.true((await collect(c.channels[0]!.open())).equals(streamBytes()));
  }
});

test('a single stream file, plain or .gz, is one main channel with its bytes', async (t) => {
  const plain = join(scratch('mw-cap-f-'), 'migration.bin');
  writeFileSync(plain, streamBytes());
  for (const path of [plain, STREAM_GZ]) {
    const c = await openCapture(path);
    t.is(c.kind, 'file');
    t.is(c.channels.length, 1);
    t.is(c.channels[0]!.role, 'main');
    t.is(c.channels[0]!.size, streamBytes().length);
    t.true((await collect(c.channels[0]!.open())).equals(streamBytes()));
  }
});

test('a single file that opens a multifd channel is named by its role and id', async (t) => {
  const init = Buffer.alloc(64);
  init.writeUInt32BE(0x11223344, 0);
  init[24] = 3;
  const path = join(scratch('mw-cap-m-'), 'chan.bin');
  writeFileSync(path, init);
  const ch = (await openCapture(path)).channels[0]!;
  t.is(ch.role, 'multifd');
  t.is(ch.multifdId, 3);
});

test('"-" reads standard input (here a given stream) as the main channel', async (t) => {
  const c = await openCapture('-', { stdin: Readable.from([streamBytes().subarray(0, 1000), streamBytes().subarray(1000)]) });
  t.is(c.kind, 'stdin');
  t.deepEqual(c.channels.map((ch) => [ch.name, ch.role, ch.path]), [['main', 'main', undefined]]);
  t.true((await collect(c.channels[0]!.open())).equals(streamBytes()));
});

test('a truncated .gz fails while streaming with a CaptureError naming the file', async (t) => {
  const packed = readFileSync(STREAM_GZ);
  const path = join(scratch('mw-cap-cut-'), 'stream.bin.gz');
  writeFileSync(path, packed.subarray(0, packed.length >> 1));
  const e = await t.throwsAsync(collect((await openCapture(path)).channels[0]!.open()), { instanceOf: CaptureError });
  t.is(e?.path, path);
  t.regex(e?.message ?? '', /stream\.bin\.gz: corrupt or truncated gzip/);
});

test('a corrupt .gz (bytes flipped in the middle) fails with a CaptureError naming the file', async (t) => {
  const packed = Buffer.from(readFileSync(STREAM_GZ));
  for (let i = 200; i < 400; i++) packed[i] = packed[i]! ^ 0x5a;
  const path = join(scratch('mw-cap-bad-'), 'stream.bin.gz');
  writeFileSync(path, packed);
  // Damage within the first bytes is found when the capture is opened (its role cannot be read), later damage while streaming.
  const e = await t.throwsAsync(async () => collect((await openCapture(path)).channels[0]!.open()), { instanceOf: CaptureError });
  t.is(e?.path, path);
});

test('a missing path, an empty directory and a broken index.json are CaptureErrors with the path', async (t) => {
  const missing = join(scratch('mw-cap-none-'), 'nothing-here');
  t.is((await t.throwsAsync(openCapture(missing), { instanceOf: CaptureError }))?.path, missing);
  const empty = scratch('mw-cap-empty-');
  await t.throwsAsync(openCapture(empty), { instanceOf: CaptureError, message: /holds no stream\.bin and no connNN/ });
  const broken = scratch('mw-cap-ix-');
  writeFileSync(join(broken, 'stream.bin'), streamBytes());
  writeFileSync(join(broken, 'index.json'), '{ not json');
  t.is((await t.throwsAsync(openCapture(broken), { instanceOf: CaptureError, message: /index\.json: not JSON/ }))?.path, join(broken, 'index.json'));
});

// Node's recursive mkdir loops for ever under /proc (mkdir says ENOENT below a folder that
// exists); every command's output folder is made by makeDirs/prepareOutputDir instead.
test('an output folder under /proc is an OutputError at once, not a hang', (t) => {
  const e = t.throws(() => prepareOutputDir('/proc/migwire-no-such/out'), { instanceOf: OutputError });
  t.regex(e!.message, /cannot create the output folder \/proc\/migwire-no-such\/out: ENOENT/);
  const dir = join(mkdtempSync(join(tmpdir(), 'mw-mkdirs-')), 'a', 'b', 'c');
  makeDirs(dir);
  t.true(statSync(dir).isDirectory(), 'several levels made');
});
