/**
 * Fixture generator (`npm run fixtures`): every configuration of the matrix
 * (test/harness/fixtures/matrix.ts) migrated with real QEMU, recorded, verified and written to
 * fixtures/<name>/; then manifest.json, fixtures/README.md, fixtures/.gitignore and the results
 * table in the main README are rewritten. Exits 1 when a fixture fails to generate or verify, or
 * when its replay fails (that fixture and its row are still written).
 *
 * Usage: npm run fixtures -- [--only NAME[,NAME...]] [--out DIR] [--list] [--report]
 * (--report: rewrite the tables from manifest.json without running QEMU)
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURES_DIR, generateFixture, REPO_ROOT, type GenerateOutcome } from './fixtures/generate.js';
import { FIXTURES } from './fixtures/matrix.js';
import { readManifest, REGEN, writeReports } from './fixtures/report.js';

export { FIXTURES } from './fixtures/matrix.js';
export { ensureFixture } from './fixtures/generate.js';

function parseArgs(argv: string[]): { only: string[] | null; out: string; list: boolean; report: boolean } {
  let out = FIXTURES_DIR;
  let only: string[] | null = null;
  let list = false;
  let report = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const val = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--only' || a.startsWith('--only=')) only = [...(only ?? []), ...val().split(',').filter(Boolean)];
    else if (a === '--out' || a.startsWith('--out=')) out = resolve(val());
    else if (a === '--list') list = true;
    else if (a === '--report') report = true;
    else if (a === '--help' || a === '-h') {
      console.log(`usage: ${REGEN}`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return { only, out, list, report };
}

const human = (n: number): string => (n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const unknown = (args.only ?? []).filter((n) => !FIXTURES.some((f) => f.name === n));
  if (unknown.length > 0) {
    console.error(`unknown fixture(s): ${unknown.join(', ')}; known: ${FIXTURES.map((f) => f.name).join(', ')}`);
    return 2;
  }
  const selected = args.only ? FIXTURES.filter((f) => args.only?.includes(f.name)) : FIXTURES;
  if (args.list) {
    for (const f of selected) {
      const q = f.kind === 'tcp' && f.dstVersion && f.dstVersion !== f.version ? `${f.version}->${f.dstVersion}` : f.version;
      console.log(`${f.name}\tQEMU ${q}\t${f.kind}\t${f.commit ? 'committed' : 'on demand'}`);
    }
    return 0;
  }
  mkdirSync(args.out, { recursive: true });
  const manifest = readManifest(args.out);
  // Rows of fixtures not present here (on-demand ones in a fresh clone) stay: the table is the last generation.
  const mainReadme = args.out === FIXTURES_DIR ? join(REPO_ROOT, 'README.md') : undefined;
  if (args.report) {
    // Only rewrite manifest.json, the READMEs and .gitignore from what is generated.
    writeReports(args.out, manifest, mainReadme);
    return 0;
  }
  let failed = 0;
  for (const cfg of selected) {
    const t0 = performance.now();
    process.stdout.write(`${cfg.name} ... `);
    let res: GenerateOutcome;
    try {
      res = await generateFixture(cfg, args.out);
    } catch (e) {
      res = { entry: null, failures: [String(e instanceof Error ? e.stack : e)] };
    }
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    if (res.entry) {
      manifest.fixtures = manifest.fixtures.filter((e) => e.name !== cfg.name);
      manifest.fixtures.push(res.entry);
      writeReports(args.out, manifest, mainReadme);
      const e = res.entry;
      // The fixture is kept (its recording verified), but a failed replay fails the run.
      const replayFailed = e.replay.status === 'fail';
      if (replayFailed) failed++;
      console.log(
        `${replayFailed ? 'REPLAY FAILED' : 'ok'} in ${secs} s: ${e.channels.length} channel(s), ${human(e.size)}, time ${e.total_time_ms ?? '?'} ms, ` +
          `downtime ${e.downtime_ms ?? '?'} ms, ${e.dirty_sync_count ?? '?'} syncs, replay ${e.replay.status}${e.replay.tls ? ' over TLS' : ''}`,
      );
      if (replayFailed) console.log(`  - replay: ${e.replay.detail}`);
    } else {
      failed++;
      console.log(`FAILED in ${secs} s`);
      for (const f of res.failures) console.log(`  - ${f}`);
    }
  }
  writeReports(args.out, manifest, mainReadme);
  return failed === 0 ? 0 : 1;
}

// Run only when executed directly (tests import FIXTURES and ensureFixture).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 2;
    },
  );
}
