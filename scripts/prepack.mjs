#!/usr/bin/env node
// `prepack` of every publishable package: a clean build of that package (and what it references),
// so the tarball holds exactly what the sources give today, never a stale file of an older build.
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = process.cwd();
rmSync(join(pkg, 'dist'), { recursive: true, force: true });
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const run = spawnSync(process.execPath, [tsc, '-b', pkg], { stdio: 'inherit' });
process.exit(run.status ?? 1);
