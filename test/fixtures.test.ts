/**
 * The fixtures a user gets: every committed fixture (no QEMU needed) is intact (channel files
 * match the sha256 in index.json), decodes and re-encodes byte for byte, passes checkCapture,
 * extracts to the RAM hash its meta.json recorded at switchover, and still shows its feature.
 * With QEMU: a tcp fixture generated on demand (ensureFixture) passes the same checks.
 */
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { openCapture } from '@migwire/capture';
import { checkCapture } from '@migwire/sync';
import { main, MemoryOutput, runExtract } from 'migwire';
import type { MigrationResult } from '@migwire/qemu';
import { takeCensus } from './harness/fixtures/census.js';
import { ensureFixture, FIXTURES_DIR, REPO_ROOT } from './harness/fixtures/generate.js';
import { FIXTURES, fixtureConfig, type FixtureConfig } from './harness/fixtures/matrix.js';
import { readManifest, resultsTable } from './harness/fixtures/report.js';
import { qemuBinary, requireQemu } from './harness/qemu.js';

interface Meta {
  caps: Record<string, boolean>;
  result: MigrationResult;
  src_query_migrate_final: MigrationResult['src_final'];
  verification: { pass: boolean; ram_sha256_at_switchover: string | null };
}

interface IndexDirection {
  file: string;
  bytes_received: number;
  sha256: string;
}

function sha256Of(path: string): Promise<{ sha: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    const s = createReadStream(path);
    const body = path.endsWith('.gz') ? s.pipe(createGunzip()) : s;
    body.on('data', (d: Buffer) => {
      bytes += d.length;
      h.update(d);
    });
    body.on('end', () => resolve({ sha: h.digest('hex'), bytes }));
    body.on('error', reject);
    s.on('error', reject);
  });
}

/** Everything a fixture promises, checked on the files as they are on disk. */
async function assertFixture(t: ExecutionContext, dir: string, cfg: FixtureConfig): Promise<void> {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
  t.true(meta.verification.pass, 'verified when generated');
  const ramSha = meta.verification.ram_sha256_at_switchover;
  t.regex(ramSha ?? '', /^[0-9a-f]{64}$/, 'meta.json records the RAM hash at switchover');

  // The stored bytes are the recorded bytes.
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
    connections: Array<{ directions: Record<string, IndexDirection> }>;
    files?: Array<{ file: string; size: number; sha256: string }>;
  };
  const stored = (name: string): string => [join(dir, name), join(dir, `${name}.gz`)].find((p) => existsSync(p)) ?? join(dir, name);
  if (cfg.kind === 'tcp') {
    t.true(index.connections.length >= cfg.roles.length, 'one connection per expected channel');
    for (const c of index.connections) {
      for (const d of Object.values(c.directions)) {
        const got = await sha256Of(stored(d.file));
        t.is(got.bytes, d.bytes_received, `${d.file}: size`);
        t.is(got.sha, d.sha256, `${d.file}: sha256`);
      }
    }
  } else {
    for (const f of index.files ?? []) {
      const got = await sha256Of(stored(f.file));
      t.is(got.sha, f.sha256, `${f.file}: sha256`);
    }
  }

  const rt = new MemoryOutput();
  t.is(await main(['check', '--roundtrip', dir], rt), 0, rt.lines.join('\n'));
  t.regex(rt.lines.join('\n'), /every byte of every channel matches/);

  const rules = await checkCapture(await openCapture(dir));
  t.true(rules.ok, JSON.stringify(rules.rules.filter((r) => r.status === 'fail')));

  const out = mkdtempSync(join(tmpdir(), 'mw-fixture-ex-'));
  try {
    const rep = await runExtract(dir, { outDir: out, blocks: ['pc.ram'], quiet: true });
    t.deepEqual(rep.errors, []);
    const img = readFileSync(join(out, 'pc.ram.img'));
    t.is(img.length, cfg.memMiB * 1024 * 1024);
    t.is(createHash('sha256').update(img).digest('hex'), ramSha ?? 'missing', 'extracted pc.ram equals the RAM at switchover');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }

  const census = await takeCensus(dir);
  t.deepEqual(census.errors, []);
  if (cfg.expect) {
    const save = { ...meta.result, src_final: meta.src_query_migrate_final };
    t.deepEqual(cfg.expect({ save, census, rules }), [], 'the recording shows its feature');
  }
}

const committed = FIXTURES.filter((f) => f.commit);

test('the committed fixtures are a few MB and include tcp, multifd, postcopy and file ones', (t) => {
  t.true(committed.length >= 8);
  for (const kind of ['tcp', 'file', 'exec']) t.true(committed.some((f) => f.kind === kind), kind);
  t.true(committed.some((f) => f.kind === 'tcp' && f.roles.includes('multifd')));
  t.true(committed.some((f) => f.kind === 'tcp' && f.postcopy === true));
  const manifest = JSON.parse(readFileSync(join(FIXTURES_DIR, 'manifest.json'), 'utf8')) as { fixtures: Array<{ name: string; commit: boolean; dir_bytes: number }> };
  const bytes = manifest.fixtures.filter((f) => f.commit).reduce((n, f) => n + f.dir_bytes, 0);
  t.true(bytes < 6 * 1024 * 1024, `${bytes} bytes committed`);
});

test('the results table in README.md and fixtures/README.md is the one of manifest.json, a row per configuration', (t) => {
  const m = readManifest(FIXTURES_DIR);
  t.deepEqual(m.fixtures.map((f) => f.name), FIXTURES.map((f) => f.name), 'the whole matrix was generated');
  t.true(m.fixtures.every((f) => f.verification === 'pass'));
  const table = resultsTable(m);
  t.true(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').includes(table), 'README.md');
  t.true(readFileSync(join(FIXTURES_DIR, 'README.md'), 'utf8').includes(table), 'fixtures/README.md');
});

for (const cfg of committed) {
  test(`committed fixture ${cfg.name}: intact, round-trips, passes checkCapture, extracts to its recorded RAM hash`, async (t) => {
    const dir = join(FIXTURES_DIR, cfg.name);
    t.true(existsSync(join(dir, 'meta.json')), `${cfg.name} is committed`);
    await assertFixture(t, dir, cfg);
  });
}

const ON_DEMAND = '10.0-multifd4-zstd';
const haveQemu = qemuBinary('10.0') || process.env['CI'] === 'true';
(haveQemu ? test.serial : test.serial.skip)(`${ON_DEMAND} generated on demand with real QEMU is verified and decodes like a committed one`, async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const cfg = fixtureConfig(ON_DEMAND);
  t.truthy(cfg);
  t.false(cfg!.commit, 'an on-demand fixture');
  const out = mkdtempSync(join(tmpdir(), 'mw-fixture-gen-'));
  try {
    const dir = await ensureFixture(ON_DEMAND, out);
    t.is(dir, join(out, ON_DEMAND));
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { roles: Array<{ role: string; multifd_channel_id?: number }> };
    t.deepEqual(index.roles.map((r) => r.role).sort(), ['main', 'multifd', 'multifd', 'multifd', 'multifd']);
    t.deepEqual(index.roles.filter((r) => r.role === 'multifd').map((r) => r.multifd_channel_id).sort(), [0, 1, 2, 3]);
    await assertFixture(t, dir, cfg!);
    // Replayed into a fresh destination QEMU when generated: same RAM as the original destination.
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { replay: { status: string; detail: string } };
    t.is(meta.replay.status, 'pass', meta.replay.detail);
    // Present now: a second call does not generate again.
    const again = await ensureFixture(ON_DEMAND, out);
    t.is(again, dir);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
