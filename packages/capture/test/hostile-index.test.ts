/**
 * A capture directory whose index.json or channel files were damaged is refused when opened, with
 * one CaptureError a user can act on: the file, the field (its JSON path) or the fact, in one line.
 * Before, nulls gave bare TypeErrors, a malformed digest or an odd file name turned the content
 * check off without a word, and a listed file gone (or a link to nothing in its place) was
 * skipped: `check` then said every rule holds. Variants come from a seeded generator
 * (hostile-index.ts); MIGWIRE_TEST_SEED replays another seed.
 */
import test from 'ava';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CaptureError, openCapture, type Capture } from '../src/index.js';
import { hostileVariants, VARIANT_CLASSES } from './hostile-index.js';
import { collect, FIXTURES, scratch } from './paths.js';

const SEED = Number(process.env['MIGWIRE_TEST_SEED'] ?? 0x5eed2026);
const PER_CLASS = 24;

/** What openCapture threw (or undefined when it opened). */
async function failure(dir: string): Promise<unknown> {
  try {
    await openCapture(dir);
    return undefined;
  } catch (e) {
    return e;
  }
}

for (const kind of VARIANT_CLASSES) {
  test(`hostile index.json and channel files (${kind}): a CaptureError naming the file and the field, in one short line`, async (t) => {
    for (const v of hostileVariants(kind, SEED, PER_CLASS)) {
      const dir = v.make();
      try {
        const e = await failure(dir);
        const where = `seed ${SEED}: ${v.what}`;
        // Never a TypeError or a bare system error: the CLI prints a CaptureError's message as it is.
        if (!(e instanceof CaptureError)) {
          t.fail(`${where}: ${e === undefined ? 'opened as if fine' : `threw ${(e as Error).name}: ${(e as Error).message}`}`);
          continue;
        }
        const file = join(dir, v.file);
        t.is(e.name, 'CaptureError', where);
        t.is(e.code, v.code, `${where}: ${e.message}`);
        t.is(e.path, file, where);
        t.true(e.message.startsWith(`${file}: `), `${where}: names the file first: ${e.message}`);
        t.true(e.message.includes(v.mentions), `${where}: mentions ${v.mentions}: ${e.message}`);
        t.false(e.message.includes('\n'), `${where}: one line`);
        t.true(e.message.length < file.length + 260, `${where}: short (${e.message.length} characters): ${e.message}`);
      } finally {
        rmSync(dirname(dir), { recursive: true, force: true });
      }
    }
  });
}

/** A scratch copy of a fixture, index.json edited by `edit`. */
function copyWith(fixture: string, edit?: (index: { connections: Array<{ directions: Record<string, Record<string, unknown>> }> }) => void): string {
  const dir = join(scratch('mw-ix-'), fixture);
  cpSync(join(FIXTURES, fixture), dir, { recursive: true });
  if (edit) {
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    edit(index);
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  }
  return dir;
}

async function readAll(c: Capture): Promise<number> {
  let n = 0;
  for (const ch of c.channels) n += (await collect(ch.open())).length;
  return n;
}

test('the generator damages copies of captures that open: unchanged, every listed file is there and checked', async (t) => {
  for (const fixture of ['10.0-c-multifd4-zstd', '10.0-postcopy-preempt', '10.0-precopy-file']) {
    const dir = copyWith(fixture);
    const c = await openCapture(dir);
    t.true(c.channels.length > 0);
    t.true(c.channels.every((ch) => ch.expect?.sha256 !== undefined && ch.expect.size !== undefined), `${fixture}: every channel has a digest and a size to meet`);
    t.true((await readAll(c)) > 0);
    rmSync(dirname(dir), { recursive: true, force: true });
  }
});

test('an empty sha256 passes only where the recorder says why (write_error); the size is still held', async (t) => {
  const why = 'ENOSPC: no space left on device, write';
  const ok = copyWith('10.0-postcopy-preempt', (ix) => Object.assign(ix.connections[0]!.directions['dst2src']!, { sha256: '', write_error: why }));
  const ch = (await openCapture(ok)).channels.find((c) => c.conn === 0 && c.direction === 'dst2src')!;
  t.is(ch.expect?.sha256, undefined);
  t.is(ch.expect?.size, 3215);
  const bad = copyWith('10.0-postcopy-preempt', (ix) => Object.assign(ix.connections[0]!.directions['dst2src']!, { sha256: '' }));
  const e = await t.throwsAsync(openCapture(bad), { instanceOf: CaptureError, message: /index\.json: connections\[0\]\.directions\.dst2src\.sha256: expected 64 lowercase hex digits \(a sha256\), found the string ""$/ });
  t.is(e?.code, 'INDEX_INVALID');
});

test('a listed file the recorder never created is named with the write error index.json records', async (t) => {
  const dir = copyWith('10.0-postcopy-preempt', (ix) => Object.assign(ix.connections[1]!.directions['src2dst']!, { write_error: "EACCES: permission denied, open 'conn01.src2dst.bin'" }));
  rmSync(join(dir, 'conn01.src2dst.bin.gz'));
  const e = await t.throwsAsync(openCapture(dir), { instanceOf: CaptureError });
  t.is(e?.code, 'LISTED_FILE_MISSING');
  t.is(e?.path, join(dir, 'conn01.src2dst.bin'));
  t.regex(e?.message ?? '', /conn01\.src2dst\.bin: listed in index\.json \(connections\[1\]\.directions\.src2dst\.file\) but not in the capture directory .*: the capture is incomplete \(index\.json records its write error: EACCES/);
});

test('a directory named stream.bin (no index.json) is a CaptureError naming it, not a bare EISDIR once reading starts', async (t) => {
  const dir = scratch('mw-ix-sdir-');
  mkdirSync(join(dir, 'stream.bin'));
  writeFileSync(join(dir, 'meta.json'), '{}');
  const e = await t.throwsAsync(openCapture(dir), { instanceOf: CaptureError });
  t.is(e?.code, 'NOT_A_FILE');
  t.is(e?.path, join(dir, 'stream.bin'));
  t.is(e?.message, `${join(dir, 'stream.bin')}: is a directory, not a plain file`);
  // A connection file in the same state, and index.json itself: the same answer.
  const conn = scratch('mw-ix-cdir-');
  mkdirSync(join(conn, 'conn00.src2dst.bin'));
  t.is((await t.throwsAsync(openCapture(conn), { instanceOf: CaptureError }))?.path, join(conn, 'conn00.src2dst.bin'));
  const ix = copyWith('10.0-precopy-file');
  rmSync(join(ix, 'index.json'));
  symlinkSync('index.json.old', join(ix, 'index.json'));
  const ie = await t.throwsAsync(openCapture(ix), { instanceOf: CaptureError, message: /index\.json: is a symbolic link to "index\.json\.old", which does not exist/ });
  t.is(ie?.code, 'NOT_A_FILE');
});
