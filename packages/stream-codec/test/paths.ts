/** Where the real captures (the repo's gzipped copies) and the project's fixtures live, seen from compiled tests. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
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
export const FIXTURES = join(ROOT, 'fixtures');
/** The real captures the project grew from, shipped in fixtures/ (MIGWIRE_SHARED_CAPTURES: another folder of them). */
export const SHARED_CAPTURES = process.env['MIGWIRE_SHARED_CAPTURES'] ?? FIXTURES;
const REAL_CAPTURES = JSON.parse(readFileSync(join(FIXTURES, 'captures.json'), 'utf8')) as string[];

/** Names of the real captures; their absence is a failure, not a skip (a clone ships them). */
export function sharedCaptures(): string[] {
  const names = REAL_CAPTURES.filter((n) => existsSync(join(SHARED_CAPTURES, n, 'index.json')));
  if (names.length !== REAL_CAPTURES.length) throw new Error(`real captures missing in ${SHARED_CAPTURES}: ${REAL_CAPTURES.filter((n) => !names.includes(n)).join(', ')}`);
  return names;
}

/** A connection file's bytes, whether kept plain (.bin) or gzipped (.bin.gz). */
export function readChannelFile(path: string): Buffer {
  return path.endsWith('.gz') ? gunzipSync(readFileSync(path)) : readFileSync(path);
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
    const m = /^conn(\d+)\.(src2dst|dst2src)\.bin(\.gz)?$/.exec(f);
    if (!m) continue;
    const bytes = readChannelFile(join(dir, f));
    if (bytes.length) out.push({ capture: name, file: f.replace(/\.gz$/, ''), conn: Number(m[1]), direction: m[2] as 'src2dst' | 'dst2src', bytes });
  }
  return out;
}

export function mainChannel(name: string): Buffer {
  const plain = join(SHARED_CAPTURES, name, 'conn00.src2dst.bin');
  return readChannelFile(existsSync(plain) ? plain : `${plain}.gz`);
}
