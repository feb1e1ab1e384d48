/** Where the default seeds live: the repository's fixtures/ and the shared captures beside it. */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

/** ../shared/captures beside the checkout (or beside the worktrees' folder); MIGWIRE_SHARED_CAPTURES wins. */
export function sharedCapturesDir(): string {
  const env = process.env['MIGWIRE_SHARED_CAPTURES'];
  if (env) return env;
  const near = resolve(repoRoot(), '..', 'shared', 'captures');
  const far = resolve(repoRoot(), '..', '..', 'shared', 'captures');
  return existsSync(near) || !existsSync(far) ? near : far;
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

/** Shared capture directories (with index.json), when ../shared/captures is there. */
export function sharedCaptureDirs(): string[] {
  const dir = sharedCapturesDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => existsSync(join(dir, n, 'index.json')))
    .sort()
    .map((n) => join(dir, n));
}
