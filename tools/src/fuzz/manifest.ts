/** Fixture sets on disk: one file per mutant and a manifest.json that says how each was made. */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { prepareOutputDir, writeOutputFile } from '@migwire/capture';
import { mutate } from './mutate.js';
import type { Mutation, MutationKind } from './mutation.js';
import type { Seed, SeedTarget } from './seed.js';

export const MANIFEST_FORMAT = 'migwire-fuzz/manifest/1';

export interface FixtureEntry {
  file: string;
  /** Seed number: `--seed <this> --count 1` makes the same bytes from the same seed stream. */
  seed: number;
  mutation: Mutation;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  seedStream: string;
  channel: string;
  reduced: boolean;
  seedBytes: number;
  seedSha256: string;
  baseSeed: number;
  kinds: MutationKind[] | 'all';
  target?: SeedTarget;
  fixtures: FixtureEntry[];
}

export interface WriteFixturesOptions {
  count: number;
  base: number;
  kinds?: MutationKind[];
  /** How the seed was named on the command line (kept in the manifest). */
  seedStream: string;
  reduced: boolean;
  /** Write into a folder that is not empty (files of the same name replaced, never through a link). */
  force?: boolean;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Write `count` mutants of `seed` into `dir` with manifest.json; returns the manifest. */
export function writeFixtures(seed: Seed, dir: string, o: WriteFixturesOptions): Manifest {
  prepareOutputDir(dir, { force: o.force ?? false });
  const replace = o.force ?? false;
  const fixtures: FixtureEntry[] = [];
  const width = Math.max(4, String(o.count - 1).length);
  for (let i = 0; i < o.count; i++) {
    const n = o.base + i;
    const m = mutate(seed, n, o.kinds ? { kinds: o.kinds } : {});
    if (!m) continue;
    const file = `${String(i).padStart(width, '0')}-${m.mutation.kind}.bin`;
    writeOutputFile(join(dir, file), m.bytes, { replace });
    fixtures.push({ file, seed: n, mutation: m.mutation, bytes: m.bytes.length, sha256: sha256(m.bytes) });
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    seedStream: o.seedStream,
    channel: seed.channel,
    reduced: o.reduced,
    seedBytes: seed.bytes.length,
    seedSha256: sha256(seed.bytes),
    baseSeed: o.base,
    kinds: o.kinds ?? 'all',
    ...(seed.target ? { target: seed.target } : {}),
    fixtures,
  };
  writeOutputFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', { replace });
  return manifest;
}
