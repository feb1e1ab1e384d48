#!/usr/bin/env node
// `npm test` after the build: ava with TMPDIR pointed at a folder of this run, removed afterwards,
// so the temp files and folders tests make (captures, images, QEMU sockets) never pile up.
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(join(tmpdir(), 'migwire-test-'));
const ava = join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
const run = spawnSync(process.execPath, [ava, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env: { ...process.env, TMPDIR: scratch } });
rmSync(scratch, { recursive: true, force: true });
process.exit(run.status ?? 1);
