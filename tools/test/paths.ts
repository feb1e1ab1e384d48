import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let d = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(d, 'pnpm-workspace.yaml'))) d = dirname(d);
export const ROOT = d;
export const FIXTURES = join(ROOT, 'fixtures');
export const SHARED_CAPTURES = process.env['MIGWIRE_SHARED_CAPTURES'] ?? resolve(ROOT, '..', 'shared', 'captures');
export const BIN = join(ROOT, 'tools', 'bin', 'migwire.js');

export function sharedCaptures(): string[] {
  if (!existsSync(SHARED_CAPTURES)) {
    if (process.env['CI'] === 'true') throw new Error(`shared captures missing at ${SHARED_CAPTURES}`);
    return [];
  }
  return readdirSync(SHARED_CAPTURES).filter((n) => existsSync(join(SHARED_CAPTURES, n, 'index.json'))).sort();
}

/** Committed fixtures (directories with stream.bin or stream.bin.gz). */
export function fixtures(): string[] {
  return readdirSync(FIXTURES).filter((n) => existsSync(join(FIXTURES, n, 'stream.bin.gz')) || existsSync(join(FIXTURES, n, 'stream.bin'))).sort();
}
