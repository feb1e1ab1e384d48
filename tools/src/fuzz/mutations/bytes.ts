/**
 * Byte-level mutations: bit flips, byte sets, insertions, deletions and truncations. Half of them
 * aim near a record start (where headers and lengths live), the rest anywhere.
 */
import { INTERESTING_BYTES, splice } from '../edit.js';
import type { Mutator } from '../mutation.js';
import type { Prng } from '../prng.js';
import type { Seed } from '../seed.js';

function target(seed: Seed, prng: Prng): number {
  const n = seed.bytes.length;
  if (n === 0) return 0;
  const recs = seed.records as ReadonlyArray<{ offset: number }>;
  if (recs.length && prng.chance(0.5)) return Math.min(n - 1, prng.pick(recs).offset + prng.int(16));
  return prng.int(n);
}

export const bitFlip: Mutator = (seed, prng) => {
  if (!seed.bytes.length) return null;
  const at = target(seed, prng);
  const bit = prng.int(8);
  const bytes = seed.bytes.slice();
  const old = bytes[at]!;
  bytes[at] = old ^ (1 << bit);
  return { bytes, mutation: { kind: 'bit-flip', path: `byte[${at}].bit${bit}`, old, new: bytes[at]!, offset: at } };
};

export const byteSet: Mutator = (seed, prng) => {
  if (!seed.bytes.length) return null;
  const at = target(seed, prng);
  const bytes = seed.bytes.slice();
  const old = bytes[at]!;
  let v = prng.chance(0.7) ? prng.pick(INTERESTING_BYTES) : prng.int(256);
  if (v === old) v ^= 0xff;
  bytes[at] = v;
  return { bytes, mutation: { kind: 'byte-set', path: `byte[${at}]`, old, new: v, offset: at } };
};

export const insertBytes: Mutator = (seed, prng) => {
  const at = target(seed, prng);
  const n = prng.pick([1, 1, 2, 4, 8, 16, 64]);
  const fill = prng.chance(0.5) ? prng.bytes(n) : new Uint8Array(n).fill(prng.pick(INTERESTING_BYTES));
  return { bytes: splice(seed.bytes, at, 0, fill), mutation: { kind: 'insert', path: `byte[${at}]`, old: null, new: Buffer.from(fill).toString('hex'), offset: at } };
};

export const deleteBytes: Mutator = (seed, prng) => {
  if (!seed.bytes.length) return null;
  const at = target(seed, prng);
  const n = Math.min(seed.bytes.length - at, prng.pick([1, 1, 2, 4, 8, 16, 64, 4096]));
  return { bytes: splice(seed.bytes, at, n), mutation: { kind: 'delete', path: `byte[${at}]`, old: n, new: 0, offset: at } };
};

/** Cut the stream: at a record start, just after it, or anywhere. */
export const truncate: Mutator = (seed, prng) => {
  if (!seed.bytes.length) return null;
  const at = prng.chance(0.3) ? prng.int(seed.bytes.length) : target(seed, prng);
  return { bytes: seed.bytes.subarray(0, at), mutation: { kind: 'truncate', path: 'length', old: seed.bytes.length, new: at, offset: at } };
};
