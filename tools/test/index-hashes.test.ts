/**
 * A capture directory's channel files are held to index.json's sha256 by every command that reads
 * them, whatever the path the bytes take: gzipped (hashed as unpacked), plain and small (hashed as
 * read), plain and large (hashed on another thread while decoding goes on). A file changed after
 * recording, same size, other bytes, must never pass as fine: exit 1, the file and both digests named.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { HASH_ASIDE_MIN_BYTES } from '@migwire/capture';
import { BIN, FIXTURES } from './paths.js';

/** A fixture with its channel files unpacked, one byte flipped in `file` at `at` (a page payload: it still decodes). */
function doctored(name: string, file: string, at: number | ((size: number) => number)): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'mw-hash-')), name);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.bin.gz'))) {
    writeFileSync(join(dir, f.slice(0, -3)), gunzipSync(readFileSync(join(dir, f))));
    rmSync(join(dir, f));
  }
  const b = readFileSync(join(dir, file));
  const i = typeof at === 'number' ? at : at(b.length);
  b[i] = b[i]! ^ 0xff;
  writeFileSync(join(dir, file), b);
  return dir;
}

const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });

for (const [what, name, file, at] of [
  ['a large main stream (hashed aside)', '10.0-precopy-tcp', 'conn00.src2dst.bin', (n: number) => n - 200_000],
  ['a small multifd channel (hashed as read)', '10.0-multifd4-none', 'conn02.src2dst.bin', (n: number) => n - 3000],
] as const) {
  test(`${what}: a byte changed after recording fails dump, check, check --roundtrip, extract and report`, (t) => {
    const dir = doctored(name, file, at);
    try {
      const size = statSync(join(dir, file)).size;
      t.is(size >= HASH_ASIDE_MIN_BYTES, what.includes('aside'), `${file} is ${size} bytes`);
      for (const argv of [['dump', dir], ['check', dir], ['check', '--roundtrip', dir], ['extract', dir, '--out', join(dir, '..', 'x'), '--quiet'], ['report', dir, '--json']]) {
        const r = run(...argv);
        t.is(r.status, 1, `${argv[0]} ${argv[1]}: ${r.stderr}`);
        t.regex(r.stderr, new RegExp(`${file}: sha256 [0-9a-f]{64} differs from index\\.json's [0-9a-f]{64}: the file changed after it was recorded`), argv.join(' '));
        t.false(r.stderr.includes('    at '), 'no stack trace');
      }
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });
}

test('the same captures, intact and unpacked, still pass', (t) => {
  for (const name of ['10.0-precopy-tcp', '10.0-multifd4-none']) {
    const dir = doctored(name, 'index.json', 0);
    // index.json's first byte flipped back: only the unpacking happened.
    const idx = readFileSync(join(dir, 'index.json'));
    idx[0] = idx[0]! ^ 0xff;
    writeFileSync(join(dir, 'index.json'), idx);
    try {
      for (const argv of [['dump', dir], ['check', dir]]) {
        const r = run(...argv);
        t.is(r.status, 0, `${argv.join(' ')}: ${r.stderr}`);
      }
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  }
});
