/** Section framing: ids, footers, version and instance ids, idstr lengths and names. */
import { encodeMainRecord, type MainRecord } from '@migwire/stream-codec';
import { interestingUint, patchUint, splice } from '../edit.js';
import type { Mutant, Mutator } from '../mutation.js';
import type { Prng } from '../prng.js';
import { describeSection, mainIndex } from './main-index.js';

type Section = Extract<MainRecord, { kind: 'section' }>;

function replaceRecord(bytes: Uint8Array, r: { offset: number; length: number }, enc: Uint8Array): Uint8Array {
  return splice(bytes, r.offset, r.length, enc);
}

/** An id that means something here: another section's id, an unused one, or a boundary. */
function otherId(prng: Prng, old: number, ids: number[]): number {
  if (ids.length > 1 && prng.chance(0.4)) {
    const others = ids.filter((i) => i !== old);
    if (others.length) return prng.pick(others);
  }
  return Number(interestingUint(prng, 32, old));
}

export const sectionId: Mutator = (seed, prng) => {
  if (seed.channel !== 'main') return null;
  const ix = mainIndex(seed);
  if (!ix.headers.length) return null;
  const r = prng.pick(ix.headers);
  const ids = ix.opens.map((o) => o.sectionId);
  const id = otherId(prng, r.sectionId, ids);
  return {
    bytes: replaceRecord(seed.bytes, r, encodeMainRecord({ ...r, sectionId: id })),
    mutation: { kind: 'section-id', path: `${describeSection(r)}.sectionId`, old: r.sectionId, new: id, offset: r.offset + 1 },
  };
};

export const footerId: Mutator = (seed, prng) => {
  if (seed.channel !== 'main') return null;
  const ix = mainIndex(seed);
  if (!ix.footers.length) return null;
  const r = prng.pick(ix.footers);
  const id = otherId(prng, r.sectionId, ix.opens.map((o) => o.sectionId));
  return {
    bytes: replaceRecord(seed.bytes, r, encodeMainRecord({ kind: 'footer', sectionId: id })),
    mutation: { kind: 'footer-id', path: `footer[${r.sectionId} @${r.offset}].sectionId`, old: r.sectionId, new: id, offset: r.offset + 1 },
  };
};

function openField(field: 'versionId' | 'instanceId'): Mutator {
  return (seed, prng) => {
    if (seed.channel !== 'main') return null;
    const ix = mainIndex(seed);
    if (!ix.opens.length) return null;
    const r = prng.pick(ix.opens);
    const old = r[field] ?? 0;
    const v = Number(interestingUint(prng, 32, old));
    const at = r.offset + 6 + r.idstr.length + (field === 'instanceId' ? 0 : 4);
    return {
      bytes: replaceRecord(seed.bytes, r, encodeMainRecord({ ...r, [field]: v })),
      mutation: { kind: field === 'versionId' ? 'version-id' : 'instance-id', path: `${describeSection(r)}.${field}`, old, new: v, offset: at },
    };
  };
}

export const versionId = openField('versionId');
export const instanceId = openField('instanceId');

/** The idstr length byte disagrees with the name that follows (the encoder cannot write this). */
export const idstrLength: Mutator = (seed, prng) => {
  if (seed.channel !== 'main') return null;
  const ix = mainIndex(seed);
  if (!ix.opens.length) return null;
  const r = prng.pick(ix.opens);
  const old = r.idstr.length;
  const candidates = [0, 1, old - 1, old + 1, old + 4, 0x7f, 0xff].filter((n) => n >= 0 && n <= 0xff && n !== old);
  const v = prng.pick(candidates);
  return {
    bytes: patchUint(seed.bytes, r.offset + 5, 1, v),
    mutation: { kind: 'idstr-length', path: `${describeSection(r)}.idstrLength`, old, new: v, offset: r.offset + 5 },
  };
};

export const idstrName: Mutator = (seed, prng) => {
  if (seed.channel !== 'main') return null;
  const ix = mainIndex(seed);
  if (!ix.opens.length) return null;
  const r = prng.pick(ix.opens);
  const old = r.idstr;
  let v: string;
  const how = prng.int(5);
  if (how === 0 && ix.idstrs.length > 1) v = prng.pick(ix.idstrs.filter((s) => s !== old));
  else if (how === 1 && old.length > 0) {
    const i = prng.int(old.length);
    v = old.slice(0, i) + String.fromCharCode(0x21 + prng.int(94)) + old.slice(i + 1);
  } else if (how === 2) v = old.slice(0, Math.max(0, old.length - 1 - prng.int(Math.max(1, old.length))));
  else if (how === 3) v = old + '/' + 'x'.repeat(prng.range(1, 8));
  else v = 'z'.repeat(prng.pick([1, 64, 255]));
  if (v === old) v = old + '_';
  v = v.slice(0, 255);
  const enc = encodeMainRecord({ ...r, idstr: v });
  return {
    bytes: replaceRecord(seed.bytes, r, enc),
    // The length byte before the name changes with it.
    mutation: { kind: 'idstr-name', path: `${describeSection(r)}.idstr`, old, new: v, offset: r.offset + 5 },
  };
};

/** Drop or duplicate one whole record (any channel): order and presence rules. */
export function recordSlices(seed: { channel: string; records: ReadonlyArray<{ offset: number; length: number; kind: string; depth?: number }> }): Array<{ offset: number; length: number; kind: string }> {
  // Page data of mapped-ram and device-state bodies are parts of their sections; everything else stands alone.
  return seed.records.filter((r) => r.length > 0 && (r.depth ?? 0) === 0);
}

export const recordDrop: Mutator = (seed, prng): Mutant | null => {
  const all = recordSlices(seed);
  if (all.length < 2) return null;
  const r = prng.pick(all.slice(seed.channel === 'main' ? 1 : 0));
  return {
    bytes: splice(seed.bytes, r.offset, r.length),
    mutation: { kind: 'record-drop', path: `record[${r.kind} @${r.offset}]`, old: r.length, new: 0, offset: r.offset },
  };
};

export const recordDuplicate: Mutator = (seed, prng): Mutant | null => {
  const all = recordSlices(seed);
  if (!all.length) return null;
  const r = prng.pick(all);
  const copy = seed.bytes.subarray(r.offset, r.offset + r.length);
  return {
    bytes: splice(seed.bytes, r.offset + r.length, 0, copy),
    mutation: { kind: 'record-duplicate', path: `record[${r.kind} @${r.offset}]`, old: r.length, new: 2 * r.length, offset: r.offset + r.length },
  };
};

