/**
 * VMState contents, guided by the stream's own VMDESCRIPTION: the decoder names every field and
 * its offset, so a mutation can aim at what loaders trust: counts, lengths, indices, heads and
 * tails of rings, and the names of subsections.
 */
import type { MainRecord, VmstateStruct, VmstateValue } from '@migwire/stream-codec';
import { interestingUint, latin1, readUint, splice, toValue, writeUint } from '../edit.js';
import type { Mutator } from '../mutation.js';
import type { Prng } from '../prng.js';
import { mainIndex } from './main-index.js';

type Device = Extract<MainRecord, { kind: 'device-state' }>;

interface FieldSite {
  device: Device;
  path: string;
  /** Offset within the section data. */
  at: number;
  size: number;
  littleEndian: boolean;
  name: string;
}

interface SubsectionSite {
  device: Device;
  path: string;
  at: number;
  name: string;
}

/** Names that usually hold a count, a length, an index or a position. */
const COUNTISH = /(num|count|cnt|len|size|idx|index|nr|head|tail|pos|ptr|off|max|depth|entries|_n$|^n_)/i;

const SIZES: Record<string, number> = { bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, timer: 8, float64: 8 };

function scalarSize(type: string, value: VmstateValue): number | undefined {
  const base = type.replace(/ equal$/, '').replace(/ le$/, '');
  const s = SIZES[base];
  if (s !== undefined) return s;
  if (typeof value === 'string' && /^[0-9a-f]*$/.test(value)) return value.length / 2;
  return undefined;
}

function isStruct(v: VmstateValue): v is VmstateStruct {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function collect(device: Device, s: VmstateStruct, prefix: string, fields: FieldSite[], subs: SubsectionSite[]): void {
  for (const f of s.fields) {
    const path = `${prefix}.${f.name}`;
    const le = / le( equal)?$/.test(f.type);
    const leaf = (v: VmstateValue, at: number, p: string): number | undefined => {
      if (isStruct(v)) {
        collect(device, v, p, fields, subs);
        return undefined;
      }
      const size = scalarSize(f.type, v);
      if (size !== undefined && size > 0 && size <= 8) fields.push({ device, path: p, at, size, littleEndian: le, name: f.name });
      return size;
    };
    if (Array.isArray(f.value)) {
      let at = f.at;
      f.value.forEach((v, i) => {
        const size = leaf(v, at, `${path}[${i}]`);
        if (size !== undefined) at += size;
      });
    } else {
      leaf(f.value, f.at, path);
    }
  }
  for (const sub of s.subsections) {
    const path = `${prefix}/${sub.name}`;
    subs.push({ device, path, at: sub.at, name: sub.name });
    collect(device, sub, path, fields, subs);
  }
}

interface Sites {
  fields: FieldSite[];
  countish: FieldSite[];
  subsections: SubsectionSite[];
}

const cache = new WeakMap<object, Sites>();

function sites(seed: { records: readonly MainRecord[] }): Sites {
  let s = cache.get(seed);
  if (s) return s;
  const fields: FieldSite[] = [];
  const subsections: SubsectionSite[] = [];
  for (const r of seed.records) {
    if (r.kind !== 'device-state' || !r.vmstate) continue;
    collect(r, r.vmstate, `device[${JSON.stringify(r.idstr)} inst ${r.vmstate.instanceId}]`, fields, subsections);
  }
  s = { fields, countish: fields.filter((f) => COUNTISH.test(f.name)), subsections };
  cache.set(seed, s);
  return s;
}

/** Array lengths the description declares: the values a count field is most likely checked against. */
function arrayBounds(seed: { vmdesc?: { devices: unknown[] } }): number[] {
  const out = new Set<number>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (typeof o['array_len'] === 'number') out.add(o['array_len']);
      for (const v of Object.values(o)) if (typeof v === 'object') walk(v);
    }
  };
  walk(seed.vmdesc?.devices);
  return [...out];
}

function fieldValue(prng: Prng, site: FieldSite, old: bigint, bounds: number[]): bigint {
  if (COUNTISH.test(site.name) && bounds.length && prng.chance(0.5)) {
    const b = BigInt(prng.pick(bounds));
    return BigInt.asUintN(site.size * 8, prng.pick([b, b + 1n, b - 1n, b * 2n]));
  }
  return interestingUint(prng, site.size * 8, old);
}

export const vmstateField: Mutator = (seed, prng) => {
  if (seed.channel !== 'main') return null;
  const s = sites(seed);
  if (!s.fields.length) return null;
  const site = s.countish.length && prng.chance(0.6) ? prng.pick(s.countish) : prng.pick(s.fields);
  const at = site.device.offset + site.at;
  const old = readUint(seed.bytes, at, site.size, site.littleEndian);
  const v = fieldValue(prng, site, old, arrayBounds(seed));
  const bytes = seed.bytes.slice();
  writeUint(bytes, at, site.size, v, site.littleEndian);
  return { bytes, mutation: { kind: 'vmstate-field', path: site.path, old: toValue(old), new: toValue(v), offset: at } };
};

/** Subsection: 0x05, u8 len, name, be32 version. Rename it, break its length byte, or its marker. */
export const subsectionName: Mutator = (seed, prng) => {
  if (seed.channel !== 'main') return null;
  const s = sites(seed);
  if (!s.subsections.length) return null;
  const site = prng.pick(s.subsections);
  const at = site.device.offset + site.at;
  const old = site.name;
  const how = prng.int(4);
  if (how === 0) {
    // The length byte no longer matches the name.
    const len = Math.max(0, Math.min(255, old.length + prng.pick([-1, 1, -old.length, 200])));
    const bytes = seed.bytes.slice();
    bytes[at + 1] = len;
    return { bytes, mutation: { kind: 'subsection-name', path: `${site.path}.nameLength`, old: old.length, new: len, offset: at + 1 } };
  }
  let name: string;
  if (how === 1 && s.subsections.length > 1) name = prng.pick(s.subsections.filter((x) => x.name !== old)).name;
  else if (how === 2 && old.length > 0) {
    const i = prng.int(old.length);
    name = old.slice(0, i) + String.fromCharCode(0x41 + prng.int(26)) + old.slice(i + 1);
  } else name = old + '/x';
  if (name === old) name = old + '_';
  const enc = new Uint8Array(2 + name.length);
  enc[0] = 0x05;
  enc[1] = name.length;
  enc.set(latin1(name), 2);
  return {
    bytes: splice(seed.bytes, at, 2 + old.length, enc),
    mutation: { kind: 'subsection-name', path: `${site.path}.name`, old, new: name, offset: at + 1 },
  };
};
