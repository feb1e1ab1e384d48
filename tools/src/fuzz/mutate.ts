/** Pick a mutation kind that applies to the seed and apply it, deterministically from a seed number. */
import { kindsFor, type Mutant, type MutationKind, type Mutator } from './mutation.js';
import { Prng } from './prng.js';
import type { Seed } from './seed.js';
import { bitFlip, byteSet, deleteBytes, insertBytes, truncate } from './mutations/bytes.js';
import { commandLength, commandPayload, packagedLength } from './mutations/commands.js';
import { multifdCompression, multifdInitId, multifdInitVersion, multifdNextPacketSize, multifdPacketNum, multifdPageCount, multifdZeroCount } from './mutations/multifd.js';
import { ramBlockList, ramFlags, ramMemSize, ramOffset } from './mutations/ram.js';
import { rpLength, rpPayload, rpType } from './mutations/return-path.js';
import { footerId, idstrLength, idstrName, instanceId, recordDrop, recordDuplicate, sectionId, versionId } from './mutations/sections.js';
import { subsectionName, vmstateField } from './mutations/vmstate.js';

export const MUTATORS: Readonly<Record<MutationKind, Mutator>> = {
  'section-id': sectionId,
  'footer-id': footerId,
  'version-id': versionId,
  'instance-id': instanceId,
  'idstr-length': idstrLength,
  'idstr-name': idstrName,
  'subsection-name': subsectionName,
  'vmstate-field': vmstateField,
  'ram-flags': ramFlags,
  'ram-offset': ramOffset,
  'ram-mem-size': ramMemSize,
  'ram-block-list': ramBlockList,
  'command-length': commandLength,
  'command-payload': commandPayload,
  'packaged-length': packagedLength,
  'record-drop': recordDrop,
  'record-duplicate': recordDuplicate,
  'multifd-init-id': multifdInitId,
  'multifd-init-version': multifdInitVersion,
  'multifd-page-count': multifdPageCount,
  'multifd-zero-count': multifdZeroCount,
  'multifd-next-packet-size': multifdNextPacketSize,
  'multifd-packet-num': multifdPacketNum,
  'multifd-compression': multifdCompression,
  'rp-type': rpType,
  'rp-length': rpLength,
  'rp-payload': rpPayload,
  'bit-flip': bitFlip,
  'byte-set': byteSet,
  insert: insertBytes,
  delete: deleteBytes,
  truncate,
};

export interface MutateOptions {
  /** Only these kinds (those that do not apply to the seed's channel are ignored). */
  kinds?: readonly MutationKind[];
}

/** Kinds usable on this seed with these options. */
export function usableKinds(seed: Seed, kinds?: readonly MutationKind[]): MutationKind[] {
  const all = kindsFor(seed.channel);
  return kinds && kinds.length ? all.filter((k) => kinds.includes(k)) : all;
}

/**
 * One mutant of `seed` from the seed number `n`: the same (seed, n, kinds) give the same bytes.
 * Returns null only when no usable kind finds anything to change.
 */
export function mutate(seed: Seed, n: number, options: MutateOptions = {}): Mutant | null {
  const prng = new Prng(n);
  const kinds = usableKinds(seed, options.kinds);
  if (!kinds.length) return null;
  // A kind with nothing to change in this seed (no commands, no subsections) gives way to another.
  for (let tries = 0; tries < 16; tries++) {
    const kind = prng.pick(kinds);
    const m = MUTATORS[kind](seed, prng);
    if (m) return m;
  }
  for (const kind of kinds) {
    const m = MUTATORS[kind](seed, prng);
    if (m) return m;
  }
  return null;
}
