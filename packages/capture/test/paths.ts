/** The repository's fixtures, seen from compiled tests, and scratch copies of them. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let d = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(d, 'pnpm-workspace.yaml'))) d = dirname(d);
export const FIXTURES = join(d, 'fixtures');

export const scratch = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of source) parts.push(p);
  return Buffer.concat(parts);
}

/** Files under `dir` this process holds open (what a reader or a worker left behind). */
export function filesOpenIn(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // Closed meanwhile.
    }
  }
  return out;
}

/** A fixture's main stream as a lone file in `dir` (no index.json: nothing to verify it against, so page runs may be used). */
export function loneStream(name: string, dir: string): string {
  const gz = readdirSync(join(FIXTURES, name)).find((f) => /^(stream|conn00-src2dst)\.bin\.gz$/.test(f))!;
  const path = join(dir, `${name}.bin`);
  writeFileSync(path, gunzipSync(readFileSync(join(FIXTURES, name, gz))));
  return path;
}

/**
 * Hostile inputs: `count` damaged copies of a main stream, each with one to four bytes changed
 * (mostly where page headers sit, every 4104 bytes after the stream's first part; sometimes
 * anywhere) and three in ten cut anywhere. The same `seed` gives the same copies.
 */
export function* damagedCopies(bytes: Uint8Array, seed: number, count: number): Generator<Uint8Array> {
  const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let n = 0; n < count; n++) {
    const copy = Buffer.from(bytes);
    for (let h = 0; h < 1 + Math.floor(rand() * 4); h++) {
      const at = rand() < 0.7 ? 0xc7 + Math.floor(rand() * 700) * 4104 + Math.floor(rand() * 10) : Math.floor(rand() * copy.length);
      if (at < copy.length) copy[at] = Math.floor(rand() * 256);
    }
    yield copy.subarray(0, rand() < 0.3 ? Math.floor(rand() * copy.length) : copy.length);
  }
}
