/** The repository's fixtures, seen from compiled tests, and scratch copies of them. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

let d = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(d, 'pnpm-workspace.yaml'))) d = dirname(d);
export const FIXTURES = join(d, 'fixtures');

export const scratch = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

/** A copy of a capture directory with every .bin.gz unpacked to .bin. */
export function unpackedCopy(from: string): string {
  const dir = join(scratch('mw-cap-raw-'), 'capture');
  mkdirSync(dir);
  for (const f of readdirSync(from)) {
    const bytes = readFileSync(join(from, f));
    if (f.endsWith('.bin.gz')) writeFileSync(join(dir, f.slice(0, -3)), gunzipSync(bytes));
    else writeFileSync(join(dir, f), bytes);
  }
  return dir;
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of source) parts.push(p);
  return Buffer.concat(parts);
}
