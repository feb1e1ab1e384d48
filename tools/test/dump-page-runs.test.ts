/**
 * `migwire dump` of a large stream file takes runs of pages from a worker thread reading its second
 * half. Run as a user runs it (the bin, its own process), it must print exactly what the same
 * stream gives when gzipped (read on one thread, page by page), and exit 0 only once all is printed.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeMainStream, type MainRecordInput } from '@migwire/stream-codec';
import { PAGE_RUNS_MIN_BYTES } from '@migwire/capture';
import { BIN } from './paths.js';

const RAM = 2;

/** A stream past the worker's threshold: RAM parts of pages (some zero) in two blocks, a device, EOF. */
function bigStream(): Uint8Array {
  const pages = Math.ceil((PAGE_RUNS_MIN_BYTES * 1.25) / 4104);
  const recs: MainRecordInput[] = [
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'section', sectionType: 'start', sectionId: RAM, idstr: 'ram', instanceId: 0, versionId: 4 },
    { kind: 'ram-mem-size', sectionId: RAM, flags: 0x04, totalBytes: 0x8000000 + 0x40000 },
    { kind: 'ram-block', sectionId: RAM, block: { name: 'pc.ram', usedLength: 0x8000000 } },
    { kind: 'ram-block', sectionId: RAM, block: { name: 'pc.bios', usedLength: 0x40000 } },
    { kind: 'ram-eos', sectionId: RAM, flags: 0x10 },
    { kind: 'footer', sectionId: RAM },
  ];
  const data = new Uint8Array(4096).fill(0x5a);
  for (let i = 0; i < pages; i++) {
    if (i % 3000 === 0) {
      if (i) recs.push({ kind: 'ram-eos', sectionId: RAM, flags: 0x10 }, { kind: 'footer', sectionId: RAM });
      recs.push({ kind: 'section', sectionType: 'part', sectionId: RAM, idstr: 'ram' });
    }
    const bios = i % 5000 >= 4990;
    const named = i % 3000 === 0 || i % 5000 === 4990 || i % 5000 === 0;
    const block = bios ? 'pc.bios' : 'pc.ram';
    const at = bios ? (i % 10) * 4096 : i * 4096;
    if (i % 7 === 3) recs.push({ kind: 'ram-zero', sectionId: RAM, flags: named ? 0x02 : 0x22, block, pageOffset: at, fill: 0 });
    else recs.push({ kind: 'ram-page', sectionId: RAM, flags: named ? 0x08 : 0x28, block, pageOffset: at, data });
  }
  recs.push(
    { kind: 'ram-eos', sectionId: RAM, flags: 0x10 },
    { kind: 'footer', sectionId: RAM },
    { kind: 'section', sectionType: 'full', sectionId: 5, idstr: 'timer', instanceId: 0, versionId: 2 },
    { kind: 'device-state', sectionId: 5, idstr: 'timer', data: Uint8Array.of(1, 2, 3) },
    { kind: 'footer', sectionId: 5 },
    { kind: 'eof' },
  );
  return encodeMainStream(recs);
}

test('dump of a stream file past the worker threshold prints what the gzipped stream prints, and exits 0 after it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-dump-runs-'));
  try {
    const bytes = bigStream();
    t.true(bytes.length >= PAGE_RUNS_MIN_BYTES);
    writeFileSync(join(dir, 'big.bin'), bytes);
    writeFileSync(join(dir, 'big.bin.gz'), gzipSync(bytes, { level: 1 }));
    const run = (f: string, ...args: string[]) => spawnSync(process.execPath, [BIN, 'dump', ...args, join(dir, f)], { encoding: 'utf8', maxBuffer: 256 << 20 });
    const plain = run('big.bin');
    const gz = run('big.bin.gz');
    t.is(plain.status, 0, plain.stderr);
    t.is(gz.status, 0, gz.stderr);
    t.is(plain.stderr, '');
    const body = (s: string): string[] => s.split('\n').slice(1);
    t.true(body(plain.stdout).some((l) => l.includes('decoded to the end')));
    t.deepEqual(body(plain.stdout), body(gz.stdout));
    // The same again cut mid-page in its second half: the same error line, exit 1.
    writeFileSync(join(dir, 'cut.bin'), bytes.subarray(0, Math.floor(bytes.length * 0.8)));
    writeFileSync(join(dir, 'cut.bin.gz'), gzipSync(bytes.subarray(0, Math.floor(bytes.length * 0.8)), { level: 1 }));
    const cut = run('cut.bin');
    const cutGz = run('cut.bin.gz');
    t.is(cut.status, 1);
    t.deepEqual(body(cut.stdout), body(cutGz.stdout));
    t.is(cut.stderr, cutGz.stderr.replace('cut.bin.gz', 'cut.bin'));
    // --json lists every page: from the numbers each run keeps of its records, line for line the same.
    for (const f of ['big.bin', 'cut.bin']) {
      const json = run(f, '--json');
      const jsonGz = run(`${f}.gz`, '--json');
      t.is(json.status, f === 'big.bin' ? 0 : 1, json.stderr);
      t.is(json.stdout.split('\n').length, jsonGz.stdout.split('\n').length, f);
      t.true(json.stdout === jsonGz.stdout, `${f}: --json of the file and of its gzip differ`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
