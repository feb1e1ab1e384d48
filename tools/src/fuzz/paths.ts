/** Where the default seeds live: the repository's fixtures/, the stream fixtures and the real captures. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'pnpm-workspace.yaml'))) {
    const up = dirname(d);
    if (up === d) return process.cwd();
    d = up;
  }
  return d;
}

/**
 * The four real captures (QEMU 10.0.2 and 7.2, 128 MiB guest) a clone ships gzipped in fixtures/,
 * as fixtures/captures.json lists them (none for an installed package).
 */
export const REAL_CAPTURES: readonly string[] = (() => {
  const list = join(repoRoot(), 'fixtures', 'captures.json');
  return existsSync(list) ? (JSON.parse(readFileSync(list, 'utf8')) as string[]) : [];
})();

/** Where the real captures are: fixtures/, unless MIGWIRE_SHARED_CAPTURES points elsewhere. */
export function sharedCapturesDir(): string {
  return process.env['MIGWIRE_SHARED_CAPTURES'] ?? join(repoRoot(), 'fixtures');
}

/** Fixture directories (with stream.bin or stream.bin.gz) under fixtures/. */
export function fixtureDirs(): string[] {
  const dir = join(repoRoot(), 'fixtures');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => existsSync(join(dir, n, 'stream.bin.gz')) || existsSync(join(dir, n, 'stream.bin')))
    .sort()
    .map((n) => join(dir, n));
}

/** The real capture directories present (with index.json). */
export function sharedCaptureDirs(): string[] {
  const dir = sharedCapturesDir();
  return REAL_CAPTURES.map((n) => join(dir, n)).filter((d) => existsSync(join(d, 'index.json')));
}
