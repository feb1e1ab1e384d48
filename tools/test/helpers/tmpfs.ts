/** A small tmpfs for disk-full tests (root only); skipped with the reason where mounting is not permitted, failed under CI=true. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

export function smallTmpfs(t: ExecutionContext, size: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'mw-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status === 0) return dir;
  const why = `mounting a tmpfs is not permitted here: ${(r.stderr || r.error?.message || '').trim()}`;
  if (process.env['CI'] === 'true') t.fail(`${why}. CI=true: the disk-full test must run (as root)`);
  else {
    t.log(`SKIPPED: ${why}`);
    t.pass();
  }
  return undefined;
}

export function unmount(dir: string): void {
  execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
}
