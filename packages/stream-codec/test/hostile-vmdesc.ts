/**
 * Hostile VMDESCRIPTIONs for the robustness tests: the shapes the fuzzer found crashing the
 * decoders (F01, F04), and seeded random structural mutations of a real description.
 */
import { decodeMainStream, encodeMainStream, type MainRecord, type Vmdesc } from '../src/index.js';
import { mainChannel, sharedCaptures } from './paths.js';

/** A real precopy main stream cut down to what a description concerns: device sections, EOF, VMDESCRIPTION. */
export interface DescribedStream {
  name: string;
  /** The stream up to (not including) its VMDESCRIPTION record. */
  prefix: Uint8Array;
  /** Records the prefix decodes to. */
  prefixRecords: number;
  /** The real description, parsed. */
  vmdesc: Vmdesc;
  /** Device sections' data by "idstr/instance", for calling decodeVmstate directly. */
  sections: Map<string, Uint8Array>;
}

/** The shared captures' precopy main streams (10.0 and 7.2 descriptions), RAM sections left out. */
export function describedStreams(): DescribedStream[] {
  return sharedCaptures()
    .filter((n) => !n.includes('postcopy'))
    .map((name) => describedStream(name, mainChannel(name)));
}

function describedStream(name: string, bytes: Uint8Array): DescribedStream {
  const { records, error } = decodeMainStream(bytes);
  if (error) throw error;
  // RAM is most of the bytes and nothing a description touches.
  const ramIds = new Set(records.flatMap((r) => (r.kind === 'section' && r.idstr === 'ram' ? [r.sectionId] : [])));
  const isRam = (r: MainRecord): boolean => r.kind.startsWith('ram-') || r.kind === 'mapped-ram-data' || ((r.kind === 'section' || r.kind === 'footer') && ramIds.has(r.sectionId));
  const kept = records.filter((r) => !isRam(r) && r.kind !== 'vmdescription');
  const desc = records.find((r) => r.kind === 'vmdescription');
  if (!desc || desc.kind !== 'vmdescription') throw new Error(`${name}: no VMDESCRIPTION`);
  const sections = new Map<string, Uint8Array>();
  let instance = 0;
  for (const r of kept) {
    if (r.kind === 'section') instance = r.instanceId ?? instance;
    if (r.kind === 'device-state') sections.set(`${r.idstr}/${instance}`, r.data);
  }
  return { name, prefix: encodeMainStream(kept), prefixRecords: kept.length, vmdesc: desc.description as Vmdesc, sections };
}

/** The stream with `json` as its VMDESCRIPTION. */
export function withDescription(s: DescribedStream, json: string | Uint8Array): Uint8Array {
  const body = typeof json === 'string' ? Buffer.from(json) : json;
  const head = Buffer.alloc(5);
  head[0] = 0x06;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([s.prefix, head, body]);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
const clone = <T>(v: T): T => structuredClone(v);

/** Nested arrays `n` deep, built without recursion (JSON text for the F04 case). */
export const deepArraysText = (n: number): string => '['.repeat(n) + ']'.repeat(n);

/** A device whose fields hold structs in structs, `levels` deep (each adds three JSON levels). */
export function nestedStructDevice(levels: number): Obj {
  let inner: Obj = { vmsd_name: 'leaf', version: 1, fields: [{ name: 'v', type: 'uint8', size: 1 }] };
  for (let i = 0; i < levels; i++) inner = { vmsd_name: `s${i}`, version: 1, fields: [{ name: `f${i}`, type: 'struct', size: 1, struct: inner }] };
  return { name: 'nested', instance_id: 0, ...inner };
}

function firstField(d: Vmdesc, pred: (f: Obj) => boolean = () => true): Obj {
  for (const dev of d.devices) for (const f of (dev.fields ?? []) as unknown as Obj[]) if (pred(f)) return f;
  throw new Error('no such field in the description');
}

/** A named hostile variant: a description object (mutated from the real one) or raw JSON text. */
export interface Variant {
  name: string;
  make: (real: Vmdesc) => { object: unknown } | { text: string };
}

/** The shapes the fuzzer reported (F01 targeted, F04), and their neighbours. */
export const VARIANTS: Variant[] = [
  { name: 'a field whose "type" is missing', make: (r) => edit(r, (d) => delete firstField(d)['type']) },
  { name: 'a field whose "type" is a number', make: (r) => edit(r, (d) => (firstField(d)['type'] = 5)) },
  { name: 'a field that is null', make: (r) => edit(r, (d) => ((d.devices[0]!.fields as unknown as Json[])[0] = null)) },
  { name: '"subsections": 5', make: (r) => edit(r, (d) => ((d.devices[0] as unknown as Obj)['subsections'] = 5)) },
  { name: '"subsections": [null]', make: (r) => edit(r, (d) => ((d.devices[0] as unknown as Obj)['subsections'] = [null])) },
  { name: 'devices[0] = null', make: (r) => edit(r, (d) => ((d.devices as unknown as Json[])[0] = null)) },
  { name: '"fields": 5', make: (r) => edit(r, (d) => ((d.devices[0] as unknown as Obj)['fields'] = 5)) },
  { name: 'a struct whose fields[0] is null', make: (r) => edit(r, (d) => ((firstField(d, (f) => !!f['struct'])['struct'] as Obj)['fields'] = [null])) },
  { name: '"devices" 100,000 nested arrays deep (F04)', make: () => ({ text: `{"devices":${deepArraysText(100_000)}}` }) },
  { name: 'an unknown key 100,000 nested arrays deep', make: () => ({ text: `{"devices":[],"x":${deepArraysText(100_000)}}` }) },
  { name: 'structs nested past the depth limit', make: (r) => edit(r, (d) => (d.devices as unknown as Json[]).push(nestedStructDevice(25))) },
  { name: 'the top level is an array', make: () => ({ text: '[]' }) },
  { name: 'the top level is null', make: () => ({ text: 'null' }) },
  { name: '"devices": 5', make: () => ({ text: '{"devices":5}' }) },
  { name: 'a negative size', make: (r) => edit(r, (d) => (firstField(d)['size'] = -1)) },
  { name: 'a fractional size', make: (r) => edit(r, (d) => (firstField(d)['size'] = 1.5)) },
  { name: 'a size given as a string', make: (r) => edit(r, (d) => (firstField(d)['size'] = '4')) },
  { name: 'an array_len of 1e300', make: (r) => edit(r, (d) => (firstField(d)['array_len'] = 1e300)) },
  { name: 'a device without a name', make: (r) => edit(r, (d) => delete (d.devices[0] as unknown as Obj)['name']) },
  { name: 'an instance_id given as a string', make: (r) => edit(r, (d) => ((d.devices[0] as unknown as Obj)['instance_id'] = '0')) },
  { name: 'a struct that is an array', make: (r) => edit(r, (d) => (firstField(d, (f) => !!f['struct'])['struct'] = [])) },
  { name: 'a device with a version but no vmsd_name', make: (r) => edit(r, (d) => delete (d.devices[0] as unknown as Obj)['vmsd_name']) },
  { name: 'an old-style device (no vmsd_name, no version) whose size is negative', make: (r) => edit(r, (d) => (d.devices as unknown as Json[]).push({ name: 'slirp', instance_id: 9, size: -1, fields: [] })) },
  { name: 'a subsection without a vmsd_name', make: (r) => edit(r, (d) => ((d.devices[0] as unknown as Obj)['subsections'] = [{ version: 1, fields: [] }])) },
];

function edit(real: Vmdesc, change: (d: Vmdesc) => unknown): { object: unknown } {
  const d = clone(real);
  change(d);
  return { object: d };
}

/** Values planted by the random mutations: wrong types, edge numbers, and deep or self-similar structure. */
function hostileValue(random: () => number, donor: () => Json): Json {
  const pick = Math.floor(random() * 16);
  switch (pick) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return [0, -1, 1.5, 2 ** 53, 1e300, -0][Math.floor(random() * 6)]!;
    case 3: return ['', 'x', 'struct', 'uint32', 'ptr-marker', '[{'][Math.floor(random() * 6)]!;
    case 4: return [];
    case 5: return {};
    case 6: return [null];
    case 7: return { fields: 5, subsections: 'x' };
    case 8: return deepArrays(1 + Math.floor(random() * 120));
    case 9: return nestedStructDevice(Math.floor(random() * 30));
    case 10: return { name: 'z', type: 'struct', size: 0, array_len: Math.floor(random() * 64), struct: { vmsd_name: 'z', version: 1, fields: [] } };
    default: return donor();
  }
}

function deepArrays(n: number): Json {
  let v: Json = [];
  for (let i = 1; i < n; i++) v = [v];
  return v;
}

const KEYS = ['devices', 'page_size', 'name', 'instance_id', 'vmsd_name', 'version', 'fields', 'subsections', 'type', 'size', 'array_len', 'index', 'struct'];

/** Every array and object in `root`, found without recursion. */
function containers(root: Json): Array<Json[] | Obj> {
  const out: Array<Json[] | Obj> = [];
  const todo: Json[] = [root];
  while (todo.length) {
    const v = todo.pop()!;
    if (v === null || typeof v !== 'object') continue;
    out.push(v);
    todo.push(...(Array.isArray(v) ? v : Object.values(v)));
  }
  return out;
}

/**
 * A copy of `real` with 1-4 random structural mutations: members replaced by hostile values or
 * other parts of the description, deleted, inserted, or swapped for a child (a level dropped).
 */
export function mutateDescription(real: Vmdesc, random: () => number): Json {
  const d = clone(real) as unknown as Obj;
  const n = 1 + Math.floor(random() * 4);
  for (let k = 0; k < n; k++) {
    const all = containers(d);
    const at = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
    const donor = (): Json => clone(at(all));
    const target = at(all);
    const op = Math.floor(random() * 4);
    if (Array.isArray(target)) {
      const i = Math.floor(random() * (target.length + 1));
      if (op === 0) target.splice(i, 1);
      else if (op === 1) target.splice(i, 0, hostileValue(random, donor));
      else if (op === 2 && target.length) target[Math.min(i, target.length - 1)] = hostileValue(random, donor);
      else target.reverse();
    } else {
      const key = random() < 0.8 ? at(KEYS) : at(Object.keys(target).concat('x'));
      if (op === 0) delete target[key];
      else if (op === 3 && target[key] !== null && typeof target[key] === 'object') {
        // A level dropped: the member becomes one of its own children.
        const kids = Object.values(target[key] as Obj);
        if (kids.length) target[key] = at(kids);
      } else target[key] = hostileValue(random, donor);
    }
  }
  return d;
}
