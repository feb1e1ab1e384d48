/**
 * Outputs never follow links and never clobber by default (issue 13, items 5, 9 and 12): a link
 * planted in an output folder is refused, and with --force replaced (never written through);
 * tls-certs keeps existing keys without --force; fuzz mutate states and caps what it writes;
 * extract refuses an absurd RAM block instead of making a 1 TiB sparse image.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMainStream, type MainRecordInput } from '@migwire/stream-codec';
import { main, MemoryOutput } from '../src/index.js';
import { BIN, FIXTURES } from './paths.js';
import { destination, exitWithin, pushUntil, QEVM, source, startRecord } from './helpers/record-cli.js';

const TiB = 1024 ** 4;

/** A main stream with one RAM block `name` of `length` bytes and one page of 0xaa in it. */
function ramStream(name: string, length: number): Buffer {
  const records: MainRecordInput[] = [
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'section', sectionType: 'start', sectionId: 2, idstr: 'ram', instanceId: 0, versionId: 4 },
    { kind: 'ram-mem-size', sectionId: 2, flags: 0x04, totalBytes: length },
    { kind: 'ram-block', sectionId: 2, block: { name, usedLength: length } },
    { kind: 'ram-eos', sectionId: 2, flags: 0x10 },
    { kind: 'footer', sectionId: 2 },
    { kind: 'section', sectionType: 'part', sectionId: 2, idstr: 'ram' },
    { kind: 'ram-page', sectionId: 2, flags: 0x08, block: name, pageOffset: 0x1000, data: new Uint8Array(4096).fill(0xaa) },
    { kind: 'ram-eos', sectionId: 2, flags: 0x10 },
    { kind: 'footer', sectionId: 2 },
    { kind: 'eof' },
  ];
  return Buffer.from(encodeMainStream(records));
}

/** A folder with `outside` (a file that must never change) and `dir` holding links to it. */
function planted(links: string[]): { dir: string; outside: string } {
  const root = mkdtempSync(join(tmpdir(), 'mw-links-'));
  const outside = join(root, 'precious.txt');
  writeFileSync(outside, 'precious\n');
  const dir = join(root, 'out');
  mkdirSync(dir);
  for (const l of links) symlinkSync(outside, join(dir, l));
  return { dir, outside };
}

const untouched = (outside: string): boolean => readFileSync(outside, 'utf8') === 'precious\n';

test('extract --out: a folder with planted links is refused; with --force the links are replaced, never written through', async (t) => {
  const stream = join(mkdtempSync(join(tmpdir(), 'mw-ex-')), 'stream.bin');
  writeFileSync(stream, ramStream('pc.bios', 0x4000));
  const { dir, outside } = planted(['pc.bios.img', 'blocks.json']);
  const out = new MemoryOutput();
  t.not(await main(['extract', stream, '--out', dir, '--quiet'], out), 0);
  t.regex(out.errors.join('\n'), /not empty/);
  t.true(untouched(outside));
  const forced = new MemoryOutput();
  t.is(await main(['extract', stream, '--out', dir, '--quiet', '--force'], forced), 0, forced.errors.join('\n'));
  t.true(untouched(outside), 'nothing written through a link');
  t.false(lstatSync(join(dir, 'pc.bios.img')).isSymbolicLink());
  t.false(lstatSync(join(dir, 'blocks.json')).isSymbolicLink());
  t.is(readFileSync(join(dir, 'pc.bios.img'))[0x1000], 0xaa);
});

test('import --out: a second import into the same folder is refused; with --force the files (and planted links) are replaced, never written through', async (t) => {
  const pcap = join(FIXTURES, '10.0-precopy-pcap', 'capture.pcap.gz');
  const { dir, outside } = planted(['conn00.src2dst.bin', 'chunks.csv']);
  const refused = new MemoryOutput();
  t.is(await main(['import', pcap, '--out', dir, '--quiet'], refused), 1);
  t.regex(refused.errors.join('\n'), /not empty .*--force/);
  t.true(untouched(outside));
  const forced = new MemoryOutput();
  t.is(await main(['import', pcap, '--out', dir, '--quiet', '--force'], forced), 0, forced.errors.join('\n'));
  t.true(untouched(outside), 'nothing written through a link');
  t.false(lstatSync(join(dir, 'conn00.src2dst.bin')).isSymbolicLink());
  t.is(readFileSync(join(dir, 'conn00.src2dst.bin')).subarray(0, 4).toString('hex'), '5145564d');
  const again = new MemoryOutput();
  t.is(await main(['import', pcap, '--out', dir, '--quiet', '--force'], again), 0, 'a second --force import over its own output');
});

test('extract refuses a RAM block beyond --max-image-bytes (default 64 GiB) instead of a 1 TiB sparse image', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'mw-huge-'));
  const stream = join(root, 'stream.bin');
  writeFileSync(stream, ramStream('pc.ram', TiB));
  const out = new MemoryOutput();
  t.is(await main(['extract', stream, '--out', join(root, 'img'), '--quiet'], out), 1);
  t.regex(out.errors.join('\n'), /pc\.ram.*1099511627776 bytes.*over --max-image-bytes 68719476736/);
  t.false(existsSync(join(root, 'img', 'pc.ram.img')), 'no image made');
  const small = new MemoryOutput();
  t.is(await main(['extract', stream.replace('stream.bin', 'stream.bin'), '--out', join(root, 'img2'), '--quiet', '--max-image-bytes', '1048576'], small), 1);
  t.regex(small.errors.join('\n'), /over --max-image-bytes 1048576/);
});

test('record --out: a linked connection file is refused, and with --force never written through', async (t) => {
  t.timeout(20_000);
  const { dir, outside } = planted(['conn00.src2dst.bin']);
  const dst = await destination((s) => {
    s.resume();
    s.on('end', () => s.end());
  });
  try {
    const refused = spawnSync(process.execPath, [BIN, 'record', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${dst.port}`, '--out', dir], { encoding: 'utf8', timeout: 10_000 });
    t.not(refused.status, 0);
    t.regex(refused.stderr, /not empty/);
    t.notRegex(refused.stderr, /\n\s+at /);
    const rec = await startRecord(dst.port, dir, ['--force', '--exit-when-idle', '200']);
    const src = await source(rec.port);
    let n = 0;
    await pushUntil(src, Buffer.concat([QEVM, Buffer.alloc(65536)]), () => (n += 1) > 16);
    src.end();
    const { code } = await exitWithin(rec, 10_000);
    t.is(code, 0, rec.stdout() + rec.stderr());
    t.true(untouched(outside));
    t.false(lstatSync(join(dir, 'conn00.src2dst.bin')).isSymbolicLink());
    t.is(readFileSync(join(dir, 'conn00.src2dst.bin')).length, 16 * (65536 + 8));
  } finally {
    dst.close();
  }
});

test('replay --out: a linked file is refused, and with --force never written through', async (t) => {
  const cap = mkdtempSync(join(tmpdir(), 'mw-rp-'));
  writeFileSync(join(cap, 'stream.bin'), ramStream('pc.ram', 0x4000));
  const { dir, outside } = planted(['conn00.src2dst.bin', 'index.json']);
  const dst = await destination((s) => {
    s.resume();
    s.on('end', () => s.end());
  });
  try {
    const out = new MemoryOutput();
    await t.throwsAsync(main(['replay', cap, '--target', `127.0.0.1:${dst.port}`, '--out', dir, '--quiet'], out).then((c) => (c === 0 ? undefined : Promise.reject(new Error(out.errors.join('\n'))))), { message: /not empty/ });
    const forced = new MemoryOutput();
    t.is(await main(['replay', cap, '--target', `127.0.0.1:${dst.port}`, '--out', dir, '--quiet', '--force', '--idle-timeout', '200'], forced), 0, forced.lines.join('\n'));
    t.true(untouched(outside));
    t.false(lstatSync(join(dir, 'conn00.src2dst.bin')).isSymbolicLink());
    t.false(lstatSync(join(dir, 'index.json')).isSymbolicLink());
    t.is(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).connection_count, 1);
  } finally {
    dst.close();
  }
});

test('fuzz mutate: states the bytes before writing, refuses above --max-bytes, never writes through a link', async (t) => {
  const seed = join(mkdtempSync(join(tmpdir(), 'mw-fz-')), 'seed.bin');
  writeFileSync(seed, ramStream('pc.ram', 0x4000));
  const size = readFileSync(seed).length;
  const root = mkdtempSync(join(tmpdir(), 'mw-fzout-'));
  const over = new MemoryOutput();
  t.is(await main(['fuzz', 'mutate', seed, '--count', '100', '--out', join(root, 'a'), '--max-bytes', String(50 * size)], over), 2);
  t.regex(over.errors.join('\n'), new RegExp(`would write 100 fixtures .*\\(${100 * size} bytes\\), over --max-bytes ${50 * size}`));
  t.false(existsSync(join(root, 'a', 'manifest.json')), 'nothing written');
  const ok = new MemoryOutput();
  t.is(await main(['fuzz', 'mutate', seed, '--count', '3', '--out', join(root, 'b')], ok), 0);
  t.regex(ok.errors.join('\n'), new RegExp(`writing 3 fixtures .*\\(${3 * size} bytes\\)`));
  const { dir, outside } = planted(['manifest.json']);
  const refused = new MemoryOutput();
  t.not(await main(['fuzz', 'mutate', seed, '--count', '3', '--out', dir], refused), 0);
  t.true(untouched(outside));
  t.is(await main(['fuzz', 'mutate', seed, '--count', '3', '--out', dir, '--force'], new MemoryOutput()), 0);
  t.true(untouched(outside));
  t.false(lstatSync(join(dir, 'manifest.json')).isSymbolicLink());
});

test('tls-certs keeps existing keys without --force; --force replaces them, never through a link', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'mw-tls-')), 'creds');
  t.is(await main(['tls-certs', '--out', dir], new MemoryOutput()), 0);
  const key = readFileSync(join(dir, 'ca-key.pem'), 'utf8');
  const again = new MemoryOutput();
  t.is(await main(['tls-certs', '--out', dir], again), 1, 'an output folder that cannot be used: exit 1, as for every --out');
  t.regex(again.errors.join('\n'), /already holds credentials \(.*ca-key\.pem.*\): --force replaces them/);
  t.is(readFileSync(join(dir, 'ca-key.pem'), 'utf8'), key, 'the CA key is kept');
  const { dir: linked, outside } = planted(['ca-key.pem', 'server-key.pem']);
  t.not(await main(['tls-certs', '--out', linked], new MemoryOutput()), 0);
  t.true(untouched(outside));
  t.is(await main(['tls-certs', '--out', linked, '--force'], new MemoryOutput()), 0);
  t.true(untouched(outside), 'the keys did not go through the links');
  t.false(lstatSync(join(linked, 'ca-key.pem')).isSymbolicLink());
  t.is(lstatSync(join(linked, 'server-key.pem')).mode & 0o777, 0o600);
  t.is(await main(['tls-certs', '--out', dir, '--force'], new MemoryOutput()), 0);
  t.not(readFileSync(join(dir, 'ca-key.pem'), 'utf8'), key, 'replaced with --force');
});
