/** Where the shared real captures and the project's fixtures live, seen from compiled tests. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'pnpm-workspace.yaml'))) {
    const up = dirname(d);
    if (up === d) throw new Error('repository root not found');
    d = up;
  }
  return d;
}

export const ROOT = repoRoot();
export const SHARED_CAPTURES = process.env['MIGWIRE_SHARED_CAPTURES'] ?? resolve(ROOT, '..', 'shared', 'captures');
export const FIXTURES = join(ROOT, 'fixtures');

/** Names of the shared captures; under CI their absence is a failure, not a skip. */
export function sharedCaptures(): string[] {
  if (!existsSync(SHARED_CAPTURES)) {
    if (process.env['CI'] === 'true') throw new Error(`shared captures missing at ${SHARED_CAPTURES}`);
    return [];
  }
  return readdirSync(SHARED_CAPTURES).filter((n) => existsSync(join(SHARED_CAPTURES, n, 'index.json'))).sort();
}

export interface CaptureChannel {
  capture: string;
  file: string;
  conn: number;
  direction: 'src2dst' | 'dst2src';
  bytes: Buffer;
}

/** Every non-empty connection file of a shared capture. */
export function captureChannels(name: string): CaptureChannel[] {
  const dir = join(SHARED_CAPTURES, name);
  const out: CaptureChannel[] = [];
  for (const f of readdirSync(dir).sort()) {
    const m = /^conn(\d+)\.(src2dst|dst2src)\.bin$/.exec(f);
    if (!m) continue;
    const bytes = readFileSync(join(dir, f));
    if (bytes.length) out.push({ capture: name, file: f, conn: Number(m[1]), direction: m[2] as 'src2dst' | 'dst2src', bytes });
  }
  return out;
}

export function mainChannel(name: string): Buffer {
  return readFileSync(join(SHARED_CAPTURES, name, 'conn00.src2dst.bin'));
}
