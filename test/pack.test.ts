/**
 * The packages as a user gets them: each publishable package packed as `pnpm publish` would
 * (workspace:* replaced by versions), installed with plain `npm install` into a project outside
 * the workspace, and the programs in examples/ run there against a real fixture.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGES = ['packages/stream-codec', 'packages/capture', 'packages/pcap', 'packages/sync', 'packages/channel-manager', 'packages/qemu', 'packages/report', 'tools'];
const PNPM = ['--yes', 'pnpm@10.34.9'];

let project = '';
let tarballs: string[] = [];

test.before(() => {
  project = mkdtempSync(join(tmpdir(), 'mw-consumer-'));
  const packs = join(project, 'packs');
  for (const pkg of PACKAGES) {
    // The build ran before the tests (tsc -b); prepack's clean rebuild would pull dist away from
    // the tests still to run.
    execFileSync('npx', [...PNPM, 'pack', '--config.ignore-scripts=true', '--pack-destination', packs], { cwd: join(root, pkg), stdio: 'pipe' });
  }
  tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz')).map((f) => join(packs, f));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', ...tarballs], { cwd: project, stdio: 'pipe' });
  for (const f of readdirSync(join(root, 'examples'))) if (f.endsWith('.mjs')) copyFileSync(join(root, 'examples', f), join(project, f));
});

test.after.always(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

function tarList(tgz: string): string[] {
  return execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

test('every package packs with a README, its sources, no tests and no workspace: protocol', (t) => {
  t.is(tarballs.length, PACKAGES.length);
  for (const tgz of tarballs) {
    const files = tarList(tgz);
    t.true(files.includes('package/README.md'), `${tgz} has a README`);
    t.true(files.some((f) => f.startsWith('package/dist/src/index.js') || f === 'package/dist/src/cli.js'), `${tgz} has its build`);
    t.true(files.some((f) => f.startsWith('package/src/')), `${tgz} ships the sources its maps point at`);
    t.false(files.some((f) => f.includes('/dist/test/')), `${tgz} ships no tests`);
    // The CLI ships its bundle (what an installed `migwire` runs) with every worker it starts by URL.
    if (files.includes('package/bin/migwire.js')) for (const f of ['bin-entry.js', 'page-run-worker.js', 'hash-worker.js', 'fuzz-codec-worker.js']) t.true(files.includes(`package/dist/bundle/${f}`), `${tgz} has dist/bundle/${f}`);
    const manifest = execFileSync('tar', ['xzf', tgz, '-O', 'package/package.json'], { encoding: 'utf8' });
    t.false(manifest.includes('workspace:'), `${tgz} has no workspace: dependency`);
  }
});

function run(script: string, ...args: string[]) {
  return spawnSync(process.execPath, [script, ...args], { cwd: project, encoding: 'utf8', timeout: 60_000 });
}

test('examples/decode-capture.mjs decodes every channel of a real multifd capture', (t) => {
  const r = run('decode-capture.mjs', join(root, 'fixtures', '10.0-multifd4-zlib'));
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^main: main, \d+ bytes, header=1 configuration=1 /m);
  t.is((r.stdout.match(/^multifd \d: multifd, \d+ bytes, multifd-init=1 multifd-packet=\d+$/gm) ?? []).length, 4);
});

test('examples/identify-channels.mjs names main and the four multifd channels by id', (t) => {
  const r = run('identify-channels.mjs', join(root, 'fixtures', '10.0-multifd4-zlib'));
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /connection 0: main\n/);
  for (const id of [0, 1, 2, 3]) t.regex(r.stdout, new RegExp(`multifd \\(multifd id ${id}\\)`));
  t.regex(r.stdout, /all 5 channels established/);
});

test('examples/check-capture.mjs runs the protocol rules of @migwire/sync on a real capture', (t) => {
  const r = run('check-capture.mjs', join(root, 'fixtures', '10.0-multifd4-zlib'));
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^pass sync-per-flush +26 MULTIFD_FLUSH on main, 26 SYNC on each of 4 channels$/m);
  t.regex(r.stdout, /^13 rounds; every rule holds$/m);
});

test('the installed migwire CLI dumps a real stream', (t) => {
  const bin = join(project, 'node_modules', '.bin', 'migwire');
  const r = spawnSync(bin, ['dump', join(root, 'fixtures', '10.0-precopy-file')], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /HEADER QEVM version 3/);
});
