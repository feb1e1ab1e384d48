import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { REAL_CAPTURES, sharedCapturesDir } from '../src/fuzz/paths.js';
import { fileURLToPath } from 'node:url';

let d = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(d, 'pnpm-workspace.yaml'))) d = dirname(d);
export const ROOT = d;
export const FIXTURES = join(ROOT, 'fixtures');
/** The four real captures (gzipped in fixtures/; MIGWIRE_SHARED_CAPTURES points elsewhere). */
export const SHARED_CAPTURES = sharedCapturesDir();
export const BIN = join(ROOT, 'tools', 'bin', 'migwire.js');

/** Names of the real captures present (all four in a clone; missing ones are a failure). */
export function sharedCaptures(): string[] {
  const missing = REAL_CAPTURES.filter((n) => !existsSync(join(SHARED_CAPTURES, n, 'index.json')));
  if (missing.length) throw new Error(`captures missing in ${SHARED_CAPTURES}: ${missing.join(', ')}`);
  return [...REAL_CAPTURES];
}

/** A writable copy of a capture with its channel files unpacked (tests that doctor raw bytes). */
export function unpackedCopy(from: string, prefix = 'mw-copy-'): string {
  const dir = join(mkdtempSync(join(tmpdir(), prefix)), basename(from));
  mkdirSync(dir);
  for (const f of readdirSync(from)) {
    const bytes = readFileSync(join(from, f));
    if (f.endsWith('.bin.gz')) writeFileSync(join(dir, f.slice(0, -3)), gunzipSync(bytes));
    else writeFileSync(join(dir, f), bytes);
  }
  return dir;
}

/**
 * After doctoring a copy on purpose: index.json's file sizes and sha256 set to the files as they now
 * are (openCapture checks them, and a doctored file would otherwise be reported as changed).
 */
/** index.json brought in line with channel files edited on purpose (the capture package's own). */
export { restampIndex } from '@migwire/capture';

/** Committed fixtures (directories with stream.bin or stream.bin.gz). */
export function fixtures(): string[] {
  return readdirSync(FIXTURES).filter((n) => existsSync(join(FIXTURES, n, 'stream.bin.gz')) || existsSync(join(FIXTURES, n, 'stream.bin'))).sort();
}
