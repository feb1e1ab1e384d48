/**
 * Gzipped capture directories (connNN.src2dst.bin.gz / connNN.dst2src.bin.gz, as committed
 * fixtures travel) read exactly like the raw ones: same channels, roles, multifd ids and sizes,
 * and they decode and round-trip.
 */
import test from 'ava';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { main, MemoryOutput, openInput } from '../src/index.js';
import { SHARED_CAPTURES, sharedCaptures } from './paths.js';

const NAME = '10.0-c-multifd4-zstd';
const have = sharedCaptures().includes(NAME);

function gzipCopy(from: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mw-gzcap-'));
  for (const f of readdirSync(from)) {
    if (/^conn\d+\.(src2dst|dst2src)\.bin$/.test(f)) writeFileSync(join(dir, `${f}.gz`), gzipSync(readFileSync(join(from, f))));
    else copyFileSync(join(from, f), join(dir, f));
  }
  return dir;
}

const view = (path: string) =>
  openInput(path).channels.map((c) => ({ name: c.name, role: c.role, conn: c.conn, direction: c.direction, multifdId: c.multifdId, size: c.size }));

(have ? test : test.skip)('a gzipped capture has the same channels, roles, multifd ids and sizes as the raw one', (t) => {
  const raw = join(SHARED_CAPTURES, NAME);
  const gz = gzipCopy(raw);
  t.deepEqual(view(gz), view(raw));
  t.is(view(gz).filter((c) => c.role === 'main').length, 1);
  t.is(view(gz).filter((c) => c.role === 'empty').length, 5, 'the five empty dst2src files stay empty');
  t.deepEqual(view(gz).filter((c) => c.role === 'multifd').map((c) => c.multifdId).sort(), [0, 1, 2, 3]);
});

(have ? test : test.skip)('a gzipped capture decodes and round-trips byte for byte', async (t) => {
  const gz = gzipCopy(join(SHARED_CAPTURES, NAME));
  const o = new MemoryOutput();
  t.is(await main(['check', '--roundtrip', gz], o), 0, o.lines.join('\n'));
  t.regex(o.lines.join('\n'), /multifd 3 .* ok/);
});

test('an empty gzipped channel is empty, and a .gz that is not gzip is an unrecognised channel', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-gzedge-'));
  writeFileSync(join(dir, 'conn00.src2dst.bin.gz'), gzipSync(Buffer.from('5145564d00000003', 'hex')));
  writeFileSync(join(dir, 'conn00.dst2src.bin.gz'), gzipSync(Buffer.alloc(0)));
  writeFileSync(join(dir, 'conn01.src2dst.bin.gz'), Buffer.from('not gzip at all'));
  const ch = openInput(dir).channels;
  t.is(ch.find((c) => c.conn === 0 && c.direction === 'src2dst')?.role, 'main');
  t.is(ch.find((c) => c.conn === 0 && c.direction === 'dst2src')?.role, 'empty');
  t.is(ch.find((c) => c.conn === 1)?.role, 'unknown');
});
