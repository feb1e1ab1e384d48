/** What a mutation is and what it records: enough to explain and to reproduce a fixture. */
import type { Prng } from './prng.js';
import type { Seed, SeedChannel } from './seed.js';

export type MutationValue = number | string | null;

export interface Mutation {
  kind: MutationKind;
  /** Which structure was changed, e.g. `section[5 "apic" inst 0].versionId`. */
  path: string;
  old: MutationValue;
  new: MutationValue;
  /** Absolute byte offset in the seed stream of the first byte the mutation touched. */
  offset: number;
}

export interface Mutant {
  bytes: Uint8Array;
  mutation: Mutation;
}

/** A mutator returns null when the seed has nothing it can change (the caller picks again). */
export type Mutator = (seed: Seed, prng: Prng) => Mutant | null;

/** Every mutation kind, and the channels it applies to. */
export const MUTATION_KINDS = {
  'section-id': ['main'],
  'footer-id': ['main'],
  'version-id': ['main'],
  'instance-id': ['main'],
  'idstr-length': ['main'],
  'idstr-name': ['main'],
  'subsection-name': ['main'],
  'vmstate-field': ['main'],
  'ram-flags': ['main'],
  'ram-offset': ['main'],
  'ram-mem-size': ['main'],
  'ram-block-list': ['main'],
  'command-length': ['main'],
  'command-payload': ['main'],
  'packaged-length': ['main'],
  'record-drop': ['main', 'multifd', 'return-path'],
  'record-duplicate': ['main', 'multifd', 'return-path'],
  'multifd-init-id': ['multifd'],
  'multifd-init-version': ['multifd'],
  'multifd-page-count': ['multifd'],
  'multifd-zero-count': ['multifd'],
  'multifd-next-packet-size': ['multifd'],
  'multifd-packet-num': ['multifd'],
  'multifd-compression': ['multifd'],
  'rp-type': ['return-path'],
  'rp-length': ['return-path'],
  'rp-payload': ['return-path'],
  'bit-flip': ['main', 'multifd', 'return-path'],
  'byte-set': ['main', 'multifd', 'return-path'],
  'insert': ['main', 'multifd', 'return-path'],
  'delete': ['main', 'multifd', 'return-path'],
  'truncate': ['main', 'multifd', 'return-path'],
} as const satisfies Record<string, readonly SeedChannel[]>;

export type MutationKind = keyof typeof MUTATION_KINDS;

export const BYTE_LEVEL_KINDS: readonly MutationKind[] = ['bit-flip', 'byte-set', 'insert', 'delete', 'truncate'];

export function isMutationKind(s: string): s is MutationKind {
  return Object.prototype.hasOwnProperty.call(MUTATION_KINDS, s);
}

/** Kinds that apply to a channel, in table order. */
export function kindsFor(channel: SeedChannel): MutationKind[] {
  return (Object.keys(MUTATION_KINDS) as MutationKind[]).filter((k) => (MUTATION_KINDS[k] as readonly SeedChannel[]).includes(channel));
}
