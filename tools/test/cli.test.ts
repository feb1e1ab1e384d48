import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { main, MemoryOutput } from '../src/index.js';
import { BIN, FIXTURES, SHARED_CAPTURES, fixtures, sharedCaptures } from './paths.js';

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const o = new MemoryOutput();
  const code = await main(argv, o);
  return { code, out: o.lines.join('\n').split('\n'), err: o.errors };
}

const PRECOPY = join(FIXTURES, '10.0-precopy-file');

test('--help lists every command, and each command explains its options', async (t) => {
  const top = await run('--help');
  t.is(top.code, 0);
  for (const c of ['dump', 'check', 'extract']) t.true(top.out.some((l) => l.trim().startsWith(c)), c);
  for (const c of ['dump', 'check', 'extract']) {
    const h = await run(c, '--help');
    t.is(h.code, 0);
    t.regex(h.out.join('\n'), /Usage: migwire/);
  }
  t.regex((await run('dump', '--help')).out.join('\n'), /--no-pages[\s\S]*--json[\s\S]*--channel/);
});

test('check --help explains every rule check prints', async (t) => {
  const help = (await run('check', '--help')).out.join('\n');
  const ran = await run('check', PRECOPY);
  const ids = ran.out.map((l) => /^(PASS|FAIL|N\/A)\s+(\S+)/.exec(l)?.[2]).filter((x): x is string => x !== undefined);
  t.true(ids.length >= 18, ids.join(' '));
  for (const id of ids) t.regex(help, new RegExp(`\\n  ${id} +\\S`), id);
});

test('usage errors exit 2 with a message', async (t) => {
  t.is((await run('frobnicate')).code, 2);
  t.is((await run('dump')).code, 2);
  t.is((await run('dump', PRECOPY, '--bogus')).code, 2);
  // A missing file is a file problem, not a usage error (issue 13: exit 2 only for usage).
  const missing = await run('dump', '/nonexistent/stream');
  t.is(missing.code, 1);
  t.regex(missing.err.join('\n'), /no such file/);
  // Options that cannot work together, or cannot work at all, say so before any work is done.
  const bytes = await run('dump', PRECOPY, '--bytes');
  t.is(bytes.code, 2);
  t.regex(bytes.err.join('\n'), /--bytes .*--json/);
  t.deepEqual(bytes.out, [''], 'nothing decoded first');
  const kinds = await run('fuzz', 'codec', '--count', '1', '--kinds', 'nonsense');
  t.is(kinds.code, 2);
  t.regex(kinds.err.join('\n'), /unknown mutation kind nonsense \(kinds: .*bit-flip/);
  const stdin = await run('fuzz', 'mutate', '-', '--count', '1', '--out', '/nonexistent/never');
  t.is(stdin.code, 2);
  t.regex(stdin.err.join('\n'), /not standard input/);
});

test('dump of a bundled real stream shows its records by name and a summary', async (t) => {
  const r = await run('dump', PRECOPY);
  t.is(r.code, 0, r.err.join('\n'));
  const text = r.out.join('\n');
  t.regex(text, /HEADER QEVM version 3/);
  t.regex(text, /CONFIGURATION machine=pc-q35-10\.0/);
  t.regex(text, /SECTION_START id=\d+ "ram" instance=0 version=4/);
  t.regex(text, /RAM block "pc\.ram" 32\.0 MiB/);
  t.regex(text, /RAM "pc\.ram": \d+ pages, \d+ zero/);
  t.regex(text, /COMMAND SWITCHOVER_START/);
  t.regex(text, /SECTION_FULL id=\d+ "timer"/);
  t.regex(text, /VMDESCRIPTION .* JSON, \d+ devices/);
  t.regex(text, /# summary/);
  t.regex(text, /channel main \(main\): .* decoded to the end/);
  t.regex(text, /pc\.ram\s+main \d+\/\d+\/0/);
});

test('dump --json gives one parsable object per record, and filters work', async (t) => {
  const all = await run('dump', PRECOPY, '--json', '--no-summary');
  const recs = all.out.map((l) => JSON.parse(l) as { kind: string; channel: string; offset: number; length: number; sectionId?: number; idstr?: string });
  t.is(recs[0]?.kind, 'header');
  t.true(recs.some((r) => r.kind === 'ram-page'));
  let at = 0;
  for (const r of recs) {
    t.is(r.offset, at);
    at += r.length;
  }
  const noPages = (await run('dump', PRECOPY, '--json', '--no-pages', '--no-summary')).out.map((l) => JSON.parse(l) as { kind: string });
  t.false(noPages.some((r) => r.kind === 'ram-page' || r.kind === 'ram-zero'));
  const timer = (await run('dump', PRECOPY, '--json', '--section', 'timer', '--no-summary')).out.map((l) => JSON.parse(l) as { kind: string; idstr?: string });
  t.true(timer.length >= 1);
  t.true(timer.every((r) => r.kind !== 'ram-page'));
  t.true(timer.some((r) => r.kind === 'device-state' && r.idstr === 'timer'));
});

test('dump --fields names VMState fields from the stream’s own trailer', async (t) => {
  const r = await run('dump', PRECOPY, '--section', 'timer', '--fields');
  t.regex(r.out.join('\n'), /cpu_ticks_offset \(int64\) = /);
});

test('dump reads standard input (-) through the real binary', (t) => {
  const bytes = gunzipSync(readFileSync(join(PRECOPY, 'stream.bin.gz')));
  const p = spawnSync(process.execPath, [BIN, 'dump', '-', '--no-pages'], { input: bytes, maxBuffer: 64 * 1024 * 1024 });
  t.is(p.status, 0, p.stderr.toString());
  t.regex(p.stdout.toString(), /CONFIGURATION machine=pc-q35-10\.0/);
});

test('dump of an 11.1 multifd + postcopy recording: PING 0x42 named inside PACKAGED, packets labelled with the release family they fit', async (t) => {
  const r = await run('dump', join(FIXTURES, '11.1-multifd4-postcopy'), '--no-pages', '--no-summary');
  t.is(r.code, 0);
  const text = r.out.join('\n');
  t.regex(text, /COMMAND PING 3\n.*COMMAND PING 66 \(PACKAGED_LOADED\)\n.*COMMAND POSTCOPY_RUN/);
  t.regex(text, /MULTIFD PACKET #\d+ SYNC none payload=0B layout=9\.0-11\.1/);
  t.notRegex(text, /layout=10\.0/);
});

for (const name of sharedCaptures()) {
  test(`dump of shared capture ${name} decodes every channel, multifd and return path included`, async (t) => {
    const r = await run('dump', join(SHARED_CAPTURES, name), '--no-pages');
    t.is(r.code, 0, r.out.filter((l) => l.includes('ERROR')).join('\n'));
    const text = r.out.join('\n');
    if (name.includes('multifd')) {
      t.regex(text, /MULTIFD INIT channel=\d/);
      t.regex(text, /MULTIFD PACKET #\d+ SYNC/);
      t.regex(text, /multifd SYNC/);
    }
    if (name.includes('postcopy')) {
      t.regex(text, /RP PONG 1/);
      t.regex(text, /RP REQ_PAGES_ID "pc\.ram"/);
      t.regex(text, /COMMAND PACKAGED \d+ B nested stream follows/);
      t.regex(text, /channel postcopy-preempt \(postcopy-preempt\)/);
    }
  });

  test(`check --roundtrip passes on shared capture ${name}`, async (t) => {
    const r = await run('check', '--roundtrip', join(SHARED_CAPTURES, name), '--json');
    t.is(r.code, 0);
    const rep = JSON.parse(r.out[0]!) as { ok: boolean; channels: Array<{ ok: boolean; role: string }> };
    t.true(rep.ok);
    t.true(rep.channels.filter((c) => c.role !== 'empty').every((c) => c.ok));
  });
}

for (const name of fixtures()) {
  test(`check --roundtrip passes on fixture ${name}`, async (t) => {
    const r = await run('check', '--roundtrip', join(FIXTURES, name));
    t.is(r.code, 0, r.out.join('\n'));
    t.regex(r.out.join('\n'), /every byte of every channel matches/);
  });
}

test('check --roundtrip fails with the channel, code and offset when a stream is damaged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-rt-'));
  const bytes = gunzipSync(readFileSync(join(PRECOPY, 'stream.bin.gz')));
  const bad = Buffer.concat([bytes.subarray(0, 5000), Buffer.from([0x42]), bytes.subarray(5000, 9000)]);
  writeFileSync(join(dir, 'stream.bin'), bad);
  const r = await run('check', '--roundtrip', join(dir, 'stream.bin'), '--json');
  t.is(r.code, 1);
  const rep = JSON.parse(r.out[0]!) as { ok: boolean; channels: Array<{ decodeError?: { code: string; offset: number; channel: string } }> };
  t.false(rep.ok);
  const e = rep.channels[0]?.decodeError;
  t.truthy(e);
  t.is(e?.channel, 'main');
  t.true((e?.offset ?? 0) >= 4096 && (e?.offset ?? 0) <= 9001);
});

function sha256File(p: string): string {
  return createHash('sha256').update(readFileSync(p)).digest('hex');
}

for (const name of sharedCaptures()) {
  test(`extract rebuilds ${name}: pc.ram equals the destination's RAM or shows the guest pattern`, async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'mw-ex-'));
    const r = await run('extract', join(SHARED_CAPTURES, name), '--out', out, '--quiet');
    t.is(r.code, 0, r.err.join('\n'));
    const img = readFileSync(join(out, 'pc.ram.img'));
    t.is(img.length, 128 * 1024 * 1024);
    const meta = JSON.parse(readFileSync(join(SHARED_CAPTURES, name, 'meta.json'), 'utf8')) as { verification: { exact_full_ram_compare?: { sha256_dst: string } } };
    const exact = meta.verification.exact_full_ram_compare;
    if (exact) t.is(createHash('sha256').update(img).digest('hex'), exact.sha256_dst, 'byte-identical to the destination QEMU’s pmemsave');
    // The guest pattern in 1..9 MiB: first bytes equal, or one drop by one; the rest of each page zero.
    const firsts: number[] = [];
    for (let p = 0x100000; p < 0x900000; p += 4096) {
      firsts.push(img[p]!);
      t.true(img.subarray(p + 1, p + 4096).every((b) => b === 0));
    }
    const drops = firsts.filter((v, i) => i > 0 && v !== firsts[i - 1]);
    t.true(drops.length <= 1);
    if (drops.length) t.is((firsts[0]! - firsts[firsts.length - 1]! + 256) % 256, 1);
    t.true(existsSync(join(out, 'blocks.json')));
  });
}

for (const name of fixtures()) {
  test(`extract of QEMU-written file stream ${name} equals the destination's RAM`, async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'mw-exf-'));
    const r = await run('extract', join(FIXTURES, name), '--out', out, '--quiet', '--block', 'pc.ram');
    t.is(r.code, 0, r.err.join('\n'));
    t.deepEqual(readdirSync(out).sort(), ['blocks.json', 'pc.ram.img']);
    const meta = JSON.parse(readFileSync(join(FIXTURES, name, 'meta.json'), 'utf8')) as { verification: { exact_full_ram_compare: { sha256_b: string } } };
    t.is(sha256File(join(out, 'pc.ram.img')), meta.verification.exact_full_ram_compare.sha256_b);
  });
}

test('extract never writes outside --out, whatever the block names say', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-evil-'));
  // A stream whose RAM block is named "../../evil".
  const name = Buffer.from('../../evil');
  const rec = (hex: string): Buffer => Buffer.from(hex, 'hex');
  const stream = Buffer.concat([
    rec('5145564d00000003'),
    rec('0100000002' + '03' + Buffer.from('ram').toString('hex') + '00000000' + '00000004'),
    rec('0000000000002004'),
    Buffer.from([name.length]), name, rec('0000000000002000'),
    rec('0000000000001008'), Buffer.from([name.length]), name, Buffer.alloc(4096, 1),
    rec('0000000000000010'), rec('7e00000002'), rec('00'),
  ]);
  writeFileSync(join(dir, 'evil.bin'), stream);
  const out = join(dir, 'out');
  execFileSync(process.execPath, [BIN, 'extract', join(dir, 'evil.bin'), '--out', out, '--quiet']);
  t.deepEqual(readdirSync(out).sort(), ['.._.._evil.img'.replace(/^\.+/, '_'), 'blocks.json'].sort());
  t.false(existsSync(join(dir, '..', 'evil.img')));
  t.false(existsSync(join(dir, 'evil.img')));
});
