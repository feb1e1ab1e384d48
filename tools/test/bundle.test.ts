/**
 * The launcher runs the bundle (dist/bundle, made by `npm run build`) while it is current, and the
 * compiled modules once a TypeScript build came after it: a `tsc -b` alone must never leave the CLI
 * running stale code. Which one ran shows in the stack MIGWIRE_DEBUG prints.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT } from './paths.js';

const BUNDLE = join(ROOT, 'tools', 'dist', 'bundle');
const ENTRY = join(BUNDLE, 'bin-entry.js');
const BUILD_INFO = join(ROOT, 'tools', 'dist', 'tsconfig.tsbuildinfo');

/** The files the stack of a failing command points into. */
function ranFrom(): string {
  const r = spawnSync(process.execPath, [BIN, 'dump', join(ROOT, 'no-such-file.bin')], { encoding: 'utf8', env: { ...process.env, MIGWIRE_DEBUG: '1' } });
  if (r.status !== 1) throw new Error(`exit ${r.status}: ${r.stderr}`);
  return r.stderr.includes('/dist/bundle/') ? 'bundle' : r.stderr.includes('/dist/src/') ? 'modules' : `neither: ${r.stderr}`;
}

test('npm run build made the bundle, and every worker it starts by URL is in it', (t) => {
  t.true(existsSync(ENTRY), 'run `npm run build` (tsc -b and scripts/bundle-cli.mjs)');
  const files = readdirSync(BUNDLE);
  for (const w of ['page-run-worker.js', 'hash-worker.js', 'fuzz-codec-worker.js']) t.true(files.includes(w), w);
  const started = files.flatMap((f) => [...readFileSync(join(BUNDLE, f), 'utf8').matchAll(/new URL\(["']\.\/([^"']+)["'],\s*import\.meta\.url\)/g)].map((m) => m[1]!));
  t.true(started.length >= 3);
  for (const s of started) t.true(files.includes(s), s);
});

test('the launcher runs the bundle while it is current, the compiled modules after a newer tsc build', (t) => {
  const info = statSync(BUILD_INFO);
  const entry = statSync(ENTRY);
  try {
    utimesSync(ENTRY, entry.atime, new Date(info.mtimeMs + 1000));
    t.is(ranFrom(), 'bundle');
    utimesSync(ENTRY, entry.atime, new Date(info.mtimeMs - 1000));
    t.is(ranFrom(), 'modules');
  } finally {
    utimesSync(ENTRY, entry.atime, entry.mtime);
  }
});
