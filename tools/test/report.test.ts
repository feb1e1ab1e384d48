import test from 'ava';
import { execFileSync } from 'node:child_process';
import { cpSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReportAnalysis } from '@migwire/report';
import { openCapture } from '@migwire/capture';
import { checkCapture } from '@migwire/sync';
import { main, MemoryOutput } from '../src/index.js';
import { FIXTURES, unpackedCopy } from './paths.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = new MemoryOutput();
  const code = await main(argv, o);
  return { code, out: o.lines.join('\n'), err: o.errors.join('\n') };
}

for (const name of ['10.0-multifd4-zlib', '10.0-c-multifd4-zstd', '10.0-g-postcopy-preempt', '10.0-xbzrle-exec', '10.0-switchover-ack']) {
  test(`report --json on ${name}: the rounds and re-sent pages that \`check\` counts, and its verdict`, async (t) => {
    const path = join(FIXTURES, name);
    const r = await run('report', path, '--json');
    t.is(r.code, 0);
    const a = JSON.parse(r.out) as ReportAnalysis;
    const check = await checkCapture(await openCapture(path));
    t.is(a.rounds.length, check.rounds.length);
    t.deepEqual(
      a.rounds.map((x) => [x.round, x.perChannel]),
      check.rounds.map((x) => [x.round, x.pages]),
    );
    t.is(a.hotPages.resentPages, check.resentPages);
    t.deepEqual(
      a.verdict?.rules.map((x) => [x.id, x.status]),
      check.rules.map((x) => [x.id, x.status]),
    );
    // The transcript next to the capture is used when --qmp is not given.
    t.is(a.switchover.downtimeLimitSource, 'qmp');
    t.regex(r.err, /qmp-src\.jsonl/);
  });
}

test('report --out writes one HTML file with the headline; without --out or --json it is a usage error', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'migwire-report-')), 'r.html');
  const path = join(FIXTURES, '10.0-g-postcopy-preempt');
  const r = await run('report', path, '--out', out, '--qmp', join(path, 'qmp-src.jsonl'));
  t.is(r.code, 0);
  const html = readFileSync(out, 'utf8');
  t.regex(html, /^<!doctype html>/);
  t.regex(html, /check: every rule holds/);
  t.regex(r.err, /wrote .*r\.html: 5 rounds; Switched to postcopy/);
  t.is((await run('report', path)).code, 2);
  t.is((await run('report', path, '--json', '--qmp', '/nonexistent.jsonl')).code, 2);
});

test('report --json on a tcpdump capture: timing from the packet timestamps (rounds with durations, bandwidth, a switchover threshold)', async (t) => {
  const r = await run('report', join(FIXTURES, '10.0-precopy-pcap', 'capture.pcap.gz'), '--json');
  t.is(r.code, 0, r.err);
  const a = JSON.parse(r.out) as ReportAnalysis;
  t.is(a.source.kind, 'pcap');
  t.is(a.timeline.unit, 's');
  t.true((a.headline.durationSeconds ?? 0) > 0);
  t.true(a.rounds.length >= 2);
  for (const round of a.rounds) {
    t.true(round.end! > round.start!, `round ${round.round} lasts`);
    t.true((round.bandwidth ?? 0) > 0, `round ${round.round} has a throughput`);
  }
  const step = a.switchover.steps[0]!;
  t.true((step.bandwidth ?? 0) > 0);
  t.true((step.thresholdBytes ?? 0) > 0);
});

// Found by a hostile-input sweep: the transcript was read whatever stood at its path (a pipe
// blocked for ever, /dev/zero behind a link grew until memory ran out, a folder gave a bare
// EISDIR), and --out wrote through a link planted at the output path.
test('report refuses a QMP transcript that is not a plain file, naming it; --out replaces a link instead of writing through it', async (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'migwire-report-hostile-'));
  const path = join(FIXTURES, '10.0-switchover-ack');
  const fifo = join(scratch, 'pipe.jsonl');
  execFileSync('mkfifo', [fifo]);
  const zero = join(scratch, 'zero.jsonl');
  symlinkSync('/dev/zero', zero);
  for (const [qmp, what] of [[fifo, 'a named pipe'], [zero, 'a device'], [scratch, 'a directory']] as const) {
    const r = await run('report', path, '--json', '--qmp', qmp);
    t.is(r.code, 1, `${what}: ${r.err}`);
    t.true(r.err.includes(`${qmp}: is ${what}, not a plain file`), r.err);
  }
  // The same for the transcript found beside a capture.
  const copy = join(scratch, 'capture');
  cpSync(path, copy, { recursive: true });
  rmSync(join(copy, 'qmp-src.jsonl'));
  symlinkSync('/dev/zero', join(copy, 'qmp-src.jsonl'));
  const beside = await run('report', copy, '--json');
  t.is(beside.code, 1, beside.err);
  t.true(beside.err.includes(`${join(copy, 'qmp-src.jsonl')}: is a device, not a plain file`), beside.err);

  const victim = join(scratch, 'victim.txt');
  writeFileSync(victim, 'keep me');
  const out = join(scratch, 'r.html');
  symlinkSync(victim, out);
  t.is((await run('report', path, '--out', out)).code, 0);
  t.is(readFileSync(victim, 'utf8'), 'keep me', 'the link target is untouched');
  t.false(lstatSync(out).isSymbolicLink());
  t.regex(readFileSync(out, 'utf8'), /^<!doctype html>/);
});

// Found by a sweep: bytes were placed on the timeline per read chunk, at the chunk's first
// arrival time, so gzip files (other chunk sizes) gave another bandwidth and switchover verdict.
test('report of a capture with gzipped channel files equals the report of the same files unpacked', async (t) => {
  const gz = join(FIXTURES, '10.0-multifd4-zlib');
  const plain = unpackedCopy(gz, 'mw-report-plain-');
  const a = JSON.parse((await run('report', gz, '--json')).out) as ReportAnalysis;
  const b = JSON.parse((await run('report', plain, '--json')).out) as ReportAnalysis;
  t.deepEqual(a.timeline, b.timeline);
  t.deepEqual(a.switchover, b.switchover);
});

// Found by a sweep: a capture imported from a pcapng without timestamps has every chunk at time 0;
// the report divided bytes by a zero span and named bandwidths of millions of GiB/s.
test('a capture whose chunk times never move is reported without a clock (MiB of the stream), not with an absurd bandwidth', async (t) => {
  const dir = unpackedCopy(join(FIXTURES, '10.0-multifd4-none'), 'mw-report-notime-');
  const rows = readFileSync(join(dir, 'chunks.csv'), 'utf8').split('\n');
  writeFileSync(join(dir, 'chunks.csv'), rows.map((r, i) => (i === 0 || !r ? r : r.replace(/^(\d+),[^,]+,/, '$1,0.000000,'))).join('\n'));
  const r = await run('report', dir, '--json', '--qmp', join(dir, 'qmp-src.jsonl'));
  t.is(r.code, 0, r.err);
  const a = JSON.parse(r.out) as ReportAnalysis;
  t.is(a.timeline.unit, 'MiB');
  t.notRegex(JSON.stringify(a.switchover), /GiB\/s/);
});
