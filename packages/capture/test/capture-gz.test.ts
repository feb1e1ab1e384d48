/**
 * Gzipped capture directories (connNN.src2dst.bin.gz / connNN.dst2src.bin.gz, as committed
 * fixtures travel) read exactly like the raw ones: same channels, roles, multifd ids, sizes and bytes.
 */
import test from 'ava';
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { connectionFileName, openCapture, parseConnectionFileName } from '../src/index.js';
import { collect, FIXTURES, scratch } from './paths.js';

const GZ = join(FIXTURES, '10.0-c-multifd4-zstd');

/** The capture with its channel files written out unpacked (through openCapture's own streams). */
async function unpackedCopy(from: string): Promise<string> {
  const dir = scratch('mw-cap-raw-');
  for (const f of readdirSync(from)) if (!parseConnectionFileName(f)) copyFileSync(join(from, f), join(dir, f));
  for (const ch of openCapture(from).channels) writeFileSync(join(dir, connectionFileName(ch.conn, ch.direction)), await collect(ch.open()));
  return dir;
}

const view = (path: string) =>
  openCapture(path).channels.map((c) => ({ name: c.name, role: c.role, conn: c.conn, direction: c.direction, multifdId: c.multifdId, size: c.size }));

test('a gzipped capture has the same channels, roles, multifd ids and sizes as the raw one', async (t) => {
  const raw = await unpackedCopy(GZ);
  t.deepEqual(view(GZ), view(raw));
  t.is(view(GZ).filter((c) => c.role === 'main').length, 1);
  t.is(view(GZ).filter((c) => c.role === 'empty').length, 5, 'the five empty dst2src files stay empty');
  t.deepEqual(view(GZ).filter((c) => c.role === 'multifd').map((c) => c.multifdId).sort(), [0, 1, 2, 3]);
});

test('a gzipped channel streams the same bytes as the raw file', async (t) => {
  const raw = await unpackedCopy(GZ);
  const a = openCapture(GZ).channels.find((c) => c.name === 'multifd 2')!;
  const b = openCapture(raw).channels.find((c) => c.name === 'multifd 2')!;
  const bytes = await collect(a.open());
  t.is(bytes.length, a.size!);
  t.true(bytes.equals(await collect(b.open())));
});

test('an empty gzipped channel is empty, and a .gz that is not gzip is an unrecognised channel', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-gzedge-'));
  writeFileSync(join(dir, 'conn00.src2dst.bin.gz'), gzipSync(Buffer.from('5145564d00000003', 'hex')));
  writeFileSync(join(dir, 'conn00.dst2src.bin.gz'), gzipSync(Buffer.alloc(0)));
  writeFileSync(join(dir, 'conn01.src2dst.bin.gz'), Buffer.from('not gzip at all'));
  const ch = openCapture(dir).channels;
  t.is(ch.find((c) => c.conn === 0 && c.direction === 'src2dst')?.role, 'main');
  t.is(ch.find((c) => c.conn === 0 && c.direction === 'dst2src')?.role, 'empty');
  t.is(ch.find((c) => c.conn === 1)?.role, 'other');
});
