/**
 * `migwire check` as users see it: a line per rule (the rules themselves are @migwire/sync's and
 * tested there), the rounds, the JSON shape, and the exit code.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, MemoryOutput } from '../src/index.js';
import { SHARED_CAPTURES } from './paths.js';

const MULTIFD = '10.0-c-multifd4-zstd';

test('check prints a line per rule, the rounds, and exits 0 when every rule holds', async (t) => {
  const o = new MemoryOutput();
  t.is(await main(['check', join(SHARED_CAPTURES, MULTIFD)], o), 0);
  const text = o.lines.join('\n');
  t.regex(text, /^PASS decodes\s+5 channels decoded to the end/m);
  t.regex(text, /^PASS sync-per-flush\s+48 MULTIFD_FLUSH on main, 48 SYNC on each of 4 channels/m);
  t.regex(text, /rounds \(pages per channel; numbered by SYNC, rounds without pages left out\):\s+multifd 0 \| multifd 1 \| multifd 2 \| multifd 3/);
  t.regex(text, /pages were sent in more than one round/);
  t.regex(text, /check: every rule holds/);
});

test('check --json gives each rule under "rule" with its status, detail and place', async (t) => {
  const o = new MemoryOutput();
  t.is(await main(['check', join(SHARED_CAPTURES, MULTIFD), '--json'], o), 0);
  const report = JSON.parse(o.lines[0]!) as { kind: string; ok: boolean; rules: Array<{ rule: string; status: string }> };
  t.is(report.kind, 'check');
  t.true(report.ok);
  t.deepEqual(report.rules.slice(0, 5).map((r) => r.rule), ['decodes', 'multifd-channel-ids', 'packet-numbers', 'sync-per-flush', 'round-order']);
});

test('a file that is not a migration stream fails decodes and exits 1, never "every rule holds"', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-noise-'));
  const file = join(dir, 'noise.bin');
  writeFileSync(file, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37 + 11) & 0xff)));
  const o = new MemoryOutput();
  t.is(await main(['check', file], o), 1);
  const text = o.lines.join('\n');
  t.regex(text, /^FAIL decodes/m);
  t.notRegex(text, /every rule holds/);
  rmSync(dir, { recursive: true, force: true });
});
