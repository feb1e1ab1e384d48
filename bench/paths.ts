/** Where the bench keeps its inputs and scratch output. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'pnpm-workspace.yaml'))) d = dirname(d);
  return d;
})();
/** Cache folder: generated streams are reused from one run to the next. */
export const WORK = join(ROOT, '.cache', 'bench');
export const BENCH_DIST = dirname(fileURLToPath(import.meta.url));
