/**
 * Damaged recordings, as a fuzzer of the CLI made them (2026-12-07): a multifd channel cut short,
 * a channel that is no migration stream, input that never ends, names that carry terminal
 * controls. Each is built here from a bundled fixture by a seeded generator; the real binary runs
 * on it, and what a user sees is asserted: the exit code, the channel and offset named, no stack.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BIN, FIXTURES, restampIndex, unpackedCopy } from './paths.js';

const MULTIFD = join(FIXTURES, '10.0-c-multifd4-zstd');
const scratch = mkdtempSync(join(tmpdir(), 'mw-hostile-cap-'));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], input?: Buffer): Run {
  const { MIGWIRE_DEBUG: _, ...env } = process.env;
  const p = spawnSync(process.execPath, [BIN, ...args], { env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024, ...(input ? { input } : {}) });
  return { status: p.status, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

/** Seeded offsets (xorshift32) in [lo, hi): the same cuts on every run. */
function offsets(n: number, lo: number, hi: number, seed: number): number[] {
  let x = seed >>> 0;
  return Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return lo + (x % (hi - lo));
  });
}

/** A copy of the 4-channel capture with one multifd channel cut at `at` bytes; index.json matches the cut file. */
function cutMultifd(conn: string, at: number): string {
  const dir = unpackedCopy(MULTIFD, 'mw-cut-');
  truncateSync(join(dir, `${conn}.src2dst.bin`), at);
  restampIndex(dir);
  return dir;
}

const out = (name: string): string => join(mkdtempSync(join(scratch, 'o-')), name);
function noStack(t: import('ava').ExecutionContext, r: Run): void {
  t.false(r.stderr.includes('    at '), r.stderr);
}

test('extract of a capture whose multifd channel is cut inside a packet: exit 1, the channel and byte named', (t) => {
  const size = gunzipSync(readFileSync(join(MULTIFD, 'conn02.src2dst.bin.gz'))).length;
  for (const at of offsets(4, 200, size - 1, 0x5eed)) {
    const r = cli(['extract', cutMultifd('conn02', at), '--out', out('ram'), '--quiet']);
    t.is(r.status, 1, `cut at ${at}: ${r.stderr}`);
    noStack(t, r);
    // Cut inside a packet, or (rarely) right at a packet's end: then the channel lacks its SYNCs and main waits.
    t.regex(r.stderr, /migwire: stopped early: .*\(TRUNCATED\) on multifd \d at byte \d+|migwire: stopped early: .*multifd/, `cut at ${at}`);
  }
});

test('extract of a capture whose multifd channel ends cleanly after its init message: exit 1, the missing SYNC rounds named', (t) => {
  // 64 bytes: the init message alone, a clean end that decodes without error.
  const r = cli(['extract', cutMultifd('conn02', 64), '--out', out('ram'), '--quiet']);
  t.is(r.status, 1, r.stderr);
  noStack(t, r);
  t.regex(r.stderr, /migwire: stopped early: multifd \d ended after 0 SYNC packets, but the main channel had closed round 1: the pages this channel sent in it are not in the capture \(TRUNCATED\) on multifd \d at byte 64/);
});

test('a multifd connection emptied (index.json restamped): check, extract and transcode all say meta.json records 4 channels and the capture holds 3', (t) => {
  const dir = unpackedCopy(MULTIFD, 'mw-emptied-');
  writeFileSync(join(dir, 'conn02.src2dst.bin'), Buffer.alloc(0));
  restampIndex(dir);
  const check = cli(['check', dir]);
  t.is(check.status, 1, check.stderr);
  t.regex(check.stdout, /FAIL multifd-channel-ids +meta\.json records multifd-channels 4, the capture holds 3 multifd init messages/);
  const extract = cli(['extract', dir, '--out', out('ram'), '--quiet']);
  t.is(extract.status, 1, extract.stderr);
  t.regex(extract.stderr, /migwire: channels missing: meta\.json records multifd-channels 4, the capture holds 3 multifd channels/);
  // Refused before connecting: port 1 is never dialled.
  const transcode = cli(['transcode', dir, '--target', '127.0.0.1:1', '--channels', '2']);
  t.is(transcode.status, 1, transcode.stderr);
  t.regex(transcode.stderr, /^migwire: meta\.json records multifd-channels 4, the capture holds 3 multifd channels: .* \(MISSING_CHANNELS\)\n$/);
  noStack(t, transcode);
});

test('a recording whose index.json says a file was not written in full (a full disk): dump notes it, check and extract fail naming it', (t) => {
  // The recorder cut the file at a packet boundary (what it holds decodes) and said so in index.json.
  const dir = cutMultifd('conn02', 64);
  const indexPath = join(dir, 'index.json');
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { connections: Array<{ directions: Record<string, Record<string, unknown>> }> };
  const row = index.connections[2]!.directions['src2dst']!;
  row['bytes_not_written'] = (row['bytes_received'] as number) - 64;
  row['bytes_written'] = 64;
  row['write_error'] = 'ENOSPC: no space left on device';
  writeFileSync(indexPath, JSON.stringify(index));
  const said = /conn02\.src2dst\.bin: index\.json says the recorder wrote 64 of \d+ bytes \(write error: ENOSPC: no space left on device\): the file ends short of what the migration sent/;
  const dump = cli(['dump', dir, '--no-pages']);
  t.regex(dump.stdout, new RegExp(`# note: ${said.source}`));
  const check = cli(['check', dir]);
  t.is(check.status, 1);
  t.regex(check.stdout, new RegExp(`FAIL decodes +${said.source}`));
  const extract = cli(['extract', dir, '--out', out('ram'), '--quiet']);
  t.is(extract.status, 1);
  t.regex(extract.stderr, new RegExp(`migwire: recording short: ${said.source}`));
});

test('a multifd packet taken out of a channel (the rest intact): check fails packet-numbers naming the number left out', (t) => {
  const dir = unpackedCopy(MULTIFD, 'mw-dropped-');
  const file = join(dir, 'conn02.src2dst.bin');
  const bytes = readFileSync(file);
  const magic = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  const starts: number[] = [];
  for (let at = bytes.indexOf(magic, 1); at > 0 && starts.length < 5; at = bytes.indexOf(magic, at + 1)) starts.push(at);
  // The third packet goes (the init message is first; packet numbers are at byte 24 of a packet).
  const gone = bytes.readBigUInt64BE(starts[2]! + 24);
  writeFileSync(file, Buffer.concat([bytes.subarray(0, starts[2]!), bytes.subarray(starts[3]!)]));
  restampIndex(dir);
  const check = cli(['check', dir]);
  t.is(check.status, 1, check.stderr);
  t.regex(check.stdout, new RegExp(`FAIL packet-numbers +1 packet number between #0 and #\\d+ on no channel \\(#${gone}\\): those packets are not in the capture`));
});

test('extract of a postcopy capture whose preempt channel was emptied: exit 1, the requested page never brought named', (t) => {
  const dir = unpackedCopy(join(FIXTURES, '11.1-multifd4-postcopy-preempt'), 'mw-preempt-');
  writeFileSync(join(dir, 'conn05.src2dst.bin'), Buffer.alloc(0));
  restampIndex(dir);
  const r = cli(['extract', dir, '--out', out('ram'), '--quiet']);
  t.is(r.status, 1, r.stderr);
  noStack(t, r);
  t.regex(r.stderr, /migwire: pages missing: request for "pc\.ram" \+0x[0-9a-f]+ never answered by a page/);
  t.is(cli(['extract', join(FIXTURES, '11.1-multifd4-postcopy-preempt'), '--out', out('ram'), '--quiet']).status, 0, 'the intact capture extracts');
});

test('extract of a capture holding a source channel that is no migration stream: exit 1, that channel named', (t) => {
  const dir = unpackedCopy(MULTIFD, 'mw-other-');
  const f = join(dir, 'conn03.src2dst.bin');
  // gzip bytes in place of a multifd channel: no role can be told from them.
  const b = readFileSync(f);
  b.set([0x1f, 0x8b, 0x08, 0x00], 0);
  writeFileSync(f, b);
  restampIndex(dir);
  const r = cli(['extract', dir, '--out', out('ram'), '--quiet']);
  t.is(r.status, 1, r.stderr);
  noStack(t, r);
  t.regex(r.stderr, /not applied .*BAD_MAGIC\) on conn03\.src2dst at byte 0/);
});

test('report of a recording that fails check: the HTML is written, exit 1, the failed rules named', (t) => {
  const size = gunzipSync(readFileSync(join(MULTIFD, 'conn01.src2dst.bin.gz'))).length;
  const html = out('report.html');
  const r = cli(['report', cutMultifd('conn01', Math.floor(size / 2) + 3), '--out', html]);
  t.is(r.status, 1, r.stderr);
  noStack(t, r);
  t.true(existsSync(html), 'the report of a failed recording is still written');
  t.regex(r.stderr, /migwire: check: FAILED \(decodes.*\): .*on multifd 0 at byte \d+/);
});

test('report of a recording that passes check: exit 0', (t) => {
  const r = cli(['report', MULTIFD, '--out', out('report.html')]);
  t.is(r.status, 0, r.stderr);
  t.notRegex(r.stderr, /FAILED/);
});

test('report of input that is no migration stream, even an endless one: exit 1 at once, nothing written', (t) => {
  const random = join(scratch, 'random.bin');
  writeFileSync(random, Buffer.from(offsets(300, 0, 256, 42)));
  for (const input of [random, '/dev/zero', '/dev/urandom']) {
    const html = out('report.html');
    const t0 = Date.now();
    const r = cli(['report', input, '--out', html]);
    t.is(r.status, 1, `${input}: ${r.stderr}`);
    noStack(t, r);
    t.regex(r.stderr, /nothing decodes as a migration stream \(not a QEMU migration stream \(BAD_MAGIC\) on \w+(\.bin)? at byte 0/);
    t.false(existsSync(html));
    t.true(Date.now() - t0 < 30_000, `${input} read to its end?`);
  }
});

test('report of standard input is refused as usage (it would be read twice)', (t) => {
  const r = cli(['report', '-', '--out', out('report.html')], Buffer.alloc(16));
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /cannot take standard input/);
});

test('extract prints block names from the stream with their control characters escaped', (t) => {
  // "pc.bios" renamed everywhere in the stream (same length): a newline, a carriage return and an ANSI colour.
  const stream = gunzipSync(readFileSync(join(FIXTURES, '10.0-precopy-file', 'stream.bin.gz')));
  const from = Buffer.from('\x07pc.bios', 'latin1');
  const to = Buffer.from('\x07a\nb\r\x1b[m', 'latin1');
  let n = 0;
  for (let i = stream.indexOf(from); i >= 0; i = stream.indexOf(from, i + 1), n++) to.copy(stream, i);
  t.true(n > 1, 'the block is named in the stream');
  const file = join(scratch, 'renamed.bin');
  writeFileSync(file, stream);
  const r = cli(['extract', file, '--out', out('ram'), '--quiet']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /a\\x0ab\\x0d\\x1b\[m\s+-> /);
  t.false(/[\x00-\x08\x0b-\x1f\x7f]/.test(r.stdout), 'no raw control character on stdout');
});

test('a meta.json that is null: check and report exit 1 naming meta.json, no TypeError', (t) => {
  const dir = unpackedCopy(MULTIFD, 'mw-meta-');
  writeFileSync(join(dir, 'meta.json'), 'null');
  for (const args of [['check', dir], ['report', dir, '--out', out('r.html')]]) {
    const r = cli(args);
    t.is(r.status, 1, r.stderr);
    noStack(t, r);
    t.regex(r.stderr, /meta\.json: \(top level\): expected an object, found null/);
    t.notRegex(r.stderr, /Cannot read properties/);
  }
});

test('extract and transcode hold the return path to index.json too: a changed byte is exit 1 naming the file', (t) => {
  const dir = unpackedCopy(join(FIXTURES, '10.0-g-postcopy-preempt'), 'mw-rp-');
  const f = join(dir, 'conn00.dst2src.bin');
  const b = readFileSync(f);
  b[b.length - 1] = b[b.length - 1]! ^ 1;
  writeFileSync(f, b);
  const r = cli(['extract', dir, '--out', out('ram'), '--quiet']);
  t.is(r.status, 1, r.stderr);
  noStack(t, r);
  t.regex(r.stderr, /conn00\.dst2src\.bin: sha256 [0-9a-f]{64} differs from index\.json's/);
  // Refused before it connects: the target port need not exist.
  const tr = cli(['transcode', dir, '--target', '127.0.0.1:9', '--channels', '0']);
  t.is(tr.status, 1, tr.stderr);
  t.regex(tr.stderr, /conn00\.dst2src\.bin: sha256 [0-9a-f]{64} differs/);
});

test('a channel file index.json lists but the folder lacks: every reading command exit 1 naming it', (t) => {
  const dir = unpackedCopy(MULTIFD, 'mw-missing-');
  rmSync(join(dir, 'conn00.src2dst.bin'));
  for (const args of [['dump', dir], ['check', dir], ['extract', dir, '--out', out('ram'), '--quiet'], ['report', dir, '--out', out('r.html')]]) {
    const r = cli(args);
    t.is(r.status, 1, `${args[0]}: ${r.stderr}`);
    noStack(t, r);
    t.regex(r.stderr, /conn00\.src2dst\.bin: listed in index\.json .* but not in the capture directory/);
  }
});
