/**
 * The VMDESCRIPTION's shape: the JSON QEMU appends to precopy streams (or a caller supplies) is
 * checked here, once, before anything reads it. Whatever passes is safe for the field decoder
 * (vmdesc.ts) and for any reader that walks it; whatever does not is a BAD_VMDESC problem
 * naming the path of the first bad member. Keys nobody reads are left unchecked, so additions
 * in newer QEMUs ("configuration", VMSTATE_WITH_TMP's nested "fields") still pass.
 */
import { utf8 } from '../core/bytes.js';
import { ErrorCode } from '../core/errors.js';
import { PayloadProblem } from '../core/problem.js';

export interface VmdescField {
  name: string;
  type: string;
  size: number;
  array_len?: number;
  index?: number;
  struct?: VmdescVmsd;
}

export interface VmdescVmsd {
  vmsd_name: string;
  version: number;
  fields?: VmdescField[];
  subsections?: VmdescVmsd[];
}

/**
 * A device: its VMState description's members, or for a device saved by an old-style handler (no
 * VMState: slirp's user networking, among others) only `size` and one "data" buffer field.
 */
export interface VmdescDevice extends Omit<VmdescVmsd, 'vmsd_name' | 'version'> {
  name: string;
  instance_id: number;
  vmsd_name?: string;
  version?: number;
  /** Old-style devices: the bytes their handler wrote. */
  size?: number;
}

export interface Vmdesc {
  page_size?: number;
  devices: VmdescDevice[];
}

/**
 * Deepest nesting of JSON arrays and objects accepted (the top-level object is level 1). QEMU's
 * own descriptions reach 16 (a struct inside a struct inside a subsection); 64 leaves room for
 * ~20 levels of structs and subsections while keeping every recursive reader (our field decoder,
 * a caller's JSON.stringify) far from the stack's end.
 */
export const MAX_VMDESC_DEPTH = 64;

/** A VMDESCRIPTION record's JSON: the parsed object, and the same as a Vmdesc when it lists devices. */
export interface ParsedVmdesc {
  description: object;
  vmdesc: Vmdesc | undefined;
}

/**
 * Parse and check a VMDESCRIPTION record's JSON bytes; a PayloadProblem's `at` is relative to them.
 * It must be an object; QEMU's always list "devices", a bare object (a placeholder) describes none.
 */
export function parseVmdesc(json: Uint8Array): ParsedVmdesc {
  // Before JSON.parse: a deep text parses fine but would overflow whoever walks the result.
  const deep = tooDeepAt(json);
  if (deep >= 0) {
    throw new PayloadProblem(ErrorCode.BadVmdesc, `VMDESCRIPTION nests deeper than ${MAX_VMDESC_DEPTH} levels`, `<= ${MAX_VMDESC_DEPTH} nested arrays and objects`, `level ${MAX_VMDESC_DEPTH + 1}`, deep);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8(json));
  } catch {
    throw new PayloadProblem(ErrorCode.BadVmdesc, 'VMDESCRIPTION is not valid JSON', 'JSON', 'unparsable text');
  }
  const top = new ShapeCheck('VMDESCRIPTION').object(parsed, 'the top level', 1);
  if (top['devices'] === undefined) return { description: top, vmdesc: undefined };
  checkVmdesc(top);
  return { description: top, vmdesc: top };
}

/** Index of the first '[' or '{' nested beyond MAX_VMDESC_DEPTH (outside strings), or -1. */
function tooDeepAt(json: Uint8Array): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next byte (\" does not end the string)
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_VMDESC_DEPTH) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/** Throws a BAD_VMDESC PayloadProblem (at 0) unless `x` has a description's shape; `label` names it in the message. */
export function checkVmdesc(x: unknown, label = 'VMDESCRIPTION'): asserts x is Vmdesc {
  const c = new ShapeCheck(label);
  const top = c.object(x, 'the top level', 1);
  c.optionalNumber(top, 'page_size', 'the top level');
  const devices = c.array(top['devices'], 'devices', 2);
  for (let i = 0; i < devices.length; i++) c.device(devices[i], `devices[${i}]`, 3);
}

/** As checkVmdesc, for one device entry (at the depth it has inside a whole description). */
export function checkVmdescDevice(x: unknown, label = 'device'): asserts x is VmdescDevice {
  new ShapeCheck(label).device(x, 'the device', 3);
}

/** Whether `x` has a description's shape (checkVmdesc without the why). */
export function isVmdesc(x: unknown): x is Vmdesc {
  try {
    checkVmdesc(x);
    return true;
  } catch (e) {
    if (e instanceof PayloadProblem) return false;
    throw e;
  }
}

/** Index a description by "idstr/instance" for lookups while decoding; checks it first (BAD_VMDESC). */
export function indexVmdesc(desc: Vmdesc): Map<string, VmdescDevice> {
  checkVmdesc(desc);
  const m = new Map<string, VmdescDevice>();
  for (const d of desc.devices) m.set(`${d.name}/${d.instance_id}`, d);
  return m;
}

type Obj = Record<string, unknown>;

/** One walk over a description; `depth` counts the arrays and objects around a value, itself included. */
class ShapeCheck {
  constructor(readonly label: string) {}

  device(x: unknown, path: string, depth: number): void {
    const d = this.object(x, path, depth);
    this.string(d, 'name', path);
    this.number(d, 'instance_id', path);
    // A device saved by an old-style handler has no VMState description: QEMU writes its size
    // and one "data" buffer field, with no vmsd_name or version (slirp, seen with QEMU 7.2-11.1).
    const oldStyle = d['vmsd_name'] === undefined && d['version'] === undefined;
    if (oldStyle) this.count(d, 'size', path, false);
    this.vmsdMembers(d, path, depth, !oldStyle);
  }

  vmsdMembers(v: Obj, path: string, depth: number, named = true): void {
    if (named) {
      this.string(v, 'vmsd_name', path);
      this.number(v, 'version', path);
    }
    if (v['fields'] !== undefined) {
      const fields = this.array(v['fields'], `${path}.fields`, depth + 1);
      for (let i = 0; i < fields.length; i++) this.field(fields[i], `${path}.fields[${i}]`, depth + 2);
    }
    if (v['subsections'] !== undefined) {
      const subs = this.array(v['subsections'], `${path}.subsections`, depth + 1);
      for (let i = 0; i < subs.length; i++) {
        const p = `${path}.subsections[${i}]`;
        this.vmsdMembers(this.object(subs[i], p, depth + 2), p, depth + 2);
      }
    }
  }

  field(x: unknown, path: string, depth: number): void {
    const f = this.object(x, path, depth);
    this.string(f, 'name', path);
    this.string(f, 'type', path);
    this.count(f, 'size', path, true);
    this.count(f, 'array_len', path, false);
    this.optionalNumber(f, 'index', path);
    if (f['struct'] !== undefined) {
      const p = `${path}.struct`;
      this.vmsdMembers(this.object(f['struct'], p, depth + 1), p, depth + 1);
    }
  }

  object(x: unknown, path: string, depth: number): Obj {
    this.depth(path, depth);
    if (typeof x !== 'object' || x === null || Array.isArray(x)) this.fail(path, 'an object', x);
    return x as Obj;
  }

  array(x: unknown, path: string, depth: number): unknown[] {
    this.depth(path, depth);
    if (!Array.isArray(x)) this.fail(path, 'an array', x);
    return x;
  }

  string(o: Obj, key: string, path: string): void {
    if (typeof o[key] !== 'string') this.fail(`${path}.${key}`, 'a string', o[key]);
  }

  number(o: Obj, key: string, path: string): void {
    if (typeof o[key] !== 'number') this.fail(`${path}.${key}`, 'a number', o[key]);
  }

  optionalNumber(o: Obj, key: string, path: string): void {
    if (o[key] !== undefined) this.number(o, key, path);
  }

  /** Byte counts and array lengths: the decoder does arithmetic with them. */
  count(o: Obj, key: string, path: string, required: boolean): void {
    const v = o[key];
    if (v === undefined && !required) return;
    if (typeof v !== 'number') this.fail(`${path}.${key}`, 'a whole number >= 0', v);
    if (!Number.isSafeInteger(v) || v < 0) this.fail(`${path}.${key}`, 'a whole number >= 0', v, 'is out of range');
  }

  depth(path: string, depth: number): void {
    // Also what stops a cyclic description handed over as an object.
    if (depth > MAX_VMDESC_DEPTH) throw new PayloadProblem(ErrorCode.BadVmdesc, `${this.label} nests deeper than ${MAX_VMDESC_DEPTH} levels at ${path}`, `<= ${MAX_VMDESC_DEPTH} nested arrays and objects`, `level ${depth}`);
  }

  fail(path: string, expected: string, found: unknown, what = found === undefined ? 'is missing' : 'has the wrong type'): never {
    throw new PayloadProblem(ErrorCode.BadVmdesc, `${this.label}: ${path} ${what}`, expected, describe(found));
  }
}

/** What a bad value is, for the error; never its text (strings may hold anything). */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  if (typeof v === 'boolean') return String(v);
  return `a ${typeof v}`;
}
