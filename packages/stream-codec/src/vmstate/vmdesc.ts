/**
 * VMState field decoding guided by the JSON description QEMU appends to
 * precopy streams (VMDESCRIPTION) or that a caller supplies. Without it a
 * device section is kept as opaque bytes; with it, fields get names and values.
 */
import { ErrorCode } from '../core/errors.js';
import { PayloadProblem } from '../core/problem.js';
import { bytesToLatin1, readU32 } from '../core/bytes.js';
import { VMS_MARKER_PTR_NULL, VMS_MARKER_PTR_VALID } from '../core/constants.js';

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

export interface VmdescDevice extends VmdescVmsd {
  name: string;
  instance_id: number;
}

export interface Vmdesc {
  page_size?: number;
  devices: VmdescDevice[];
}

export type VmstateValue = number | string | boolean | VmstateValue[] | VmstateStruct;

export interface VmstateStruct {
  fields: VmstateField[];
  subsections: VmstateSubsection[];
}

export interface VmstateField {
  name: string;
  type: string;
  /** Offset within the section data. */
  at: number;
  value: VmstateValue;
}

export interface VmstateSubsection extends VmstateStruct {
  name: string;
  version: number;
  at: number;
}

export interface VmstateDevice extends VmstateStruct {
  name: string;
  instanceId: number;
  /** Bytes the description accounts for; equal to the section length when all is understood. */
  consumed: number;
}

export function isVmdesc(x: unknown): x is Vmdesc {
  return typeof x === 'object' && x !== null && Array.isArray((x as { devices?: unknown }).devices);
}

/** Index a description by "idstr/instance" for lookups while decoding. */
export function indexVmdesc(desc: Vmdesc): Map<string, VmdescDevice> {
  const m = new Map<string, VmdescDevice>();
  for (const d of desc.devices) m.set(`${d.name}/${d.instance_id}`, d);
  return m;
}

const MAX_DEPTH = 32;

/** The data ends before the fields its description lists: too short to be the whole section. */
export class VmstateTooShort extends PayloadProblem {}

/**
 * `decodeVmstate`, or what kept it from fitting: 'short' when the data ends before the described
 * fields do (it cannot be the whole section), 'mismatch' for any other disagreement.
 */
export function tryDecodeVmstate(data: Uint8Array, device: VmdescDevice): VmstateDevice | 'short' | 'mismatch' {
  try {
    return decodeVmstate(data, device);
  } catch (e) {
    if (e instanceof VmstateTooShort) return 'short';
    if (e instanceof PayloadProblem) return 'mismatch';
    throw e;
  }
}

/** Decode a device section's data with its description; throws PayloadProblem on a mismatch. */
export function decodeVmstate(data: Uint8Array, device: VmdescDevice): VmstateDevice {
  const st = { at: 0 };
  const body = decodeVmsd(data, device, st, 0);
  return { name: device.name, instanceId: device.instance_id, fields: body.fields, subsections: body.subsections, consumed: st.at };
}

function decodeVmsd(b: Uint8Array, vmsd: VmdescVmsd, st: { at: number }, depth: number): VmstateStruct {
  if (depth > MAX_DEPTH) throw new PayloadProblem(ErrorCode.BadVmstate, 'VMState description nested too deep', `<= ${MAX_DEPTH}`, String(depth), st.at);
  const fields: VmstateField[] = [];
  for (const f of vmsd.fields ?? []) {
    const at = st.at;
    if (f.array_len !== undefined) {
      const n = f.array_len;
      if (!Number.isInteger(n) || n < 0 || n > b.length + 1) {
        throw new PayloadProblem(ErrorCode.BadVmstate, `field ${f.name}: array length beyond the section`, `<= ${b.length}`, String(n), at);
      }
      const values: VmstateValue[] = [];
      for (let i = 0; i < n; i++) values.push(decodeOne(b, f, st, depth));
      fields.push({ name: f.name, type: f.type, at, value: values });
    } else {
      fields.push({ name: f.name, type: f.type, at, value: decodeOne(b, f, st, depth) });
    }
  }
  const subsections: VmstateSubsection[] = [];
  // Subsections follow the fields: 0x05, u8 len, name, be32 version, body.
  while (st.at + 2 <= b.length && b[st.at] === 0x05) {
    const len = b[st.at + 1]!;
    if (st.at + 2 + len + 4 > b.length) break;
    const name = bytesToLatin1(b.subarray(st.at + 2, st.at + 2 + len));
    const sub = vmsd.subsections?.find((s) => s.vmsd_name === name);
    if (!sub) break; // belongs to an enclosing description
    const at = st.at;
    const version = readU32(b, st.at + 2 + len);
    st.at += 2 + len + 4;
    const body = decodeVmsd(b, sub, st, depth + 1);
    subsections.push({ name, version, at, ...body });
  }
  return { fields, subsections };
}

function decodeOne(b: Uint8Array, f: VmdescField, st: { at: number }, depth: number): VmstateValue {
  if (f.type === 'struct' && f.struct) return decodeVmsd(b, f.struct, st, depth + 1);
  const size = f.size;
  if (!Number.isInteger(size) || size < 0) throw new PayloadProblem(ErrorCode.BadVmstate, `field ${f.name} (${f.type}): bad size in the description`, 'a byte count', String(size), st.at);
  if (st.at + size > b.length) {
    throw new VmstateTooShort(ErrorCode.BadVmstate, `field ${f.name} (${f.type}) runs past the section`, `${size} bytes`, `${b.length - st.at} left`, st.at);
  }
  const at = st.at;
  st.at += size;
  if (f.type === PTR_MARKER_TYPE) return ptrMarker(b, at, size, f.name);
  return scalar(b, at, size, f.type);
}

/** vmdesc type of the byte before each element of a pointer array (newer QEMU; 0x30 alone was "nullptr"). */
export const PTR_MARKER_TYPE = 'ptr-marker';

/** A pointer marker: "null" (0x30, no element follows) or "valid" (0x31, the element follows). */
function ptrMarker(b: Uint8Array, at: number, size: number, name: string): VmstateValue {
  const v = b[at];
  if (size === 1 && v === VMS_MARKER_PTR_NULL) return 'null';
  if (size === 1 && v === VMS_MARKER_PTR_VALID) return 'valid';
  throw new PayloadProblem(ErrorCode.BadVmstate, `field ${name}: not a pointer marker`, '1 byte, 0x30 or 0x31', size === 1 ? `0x${(v ?? 0).toString(16)}` : `${size} bytes`, at);
}

function scalar(b: Uint8Array, at: number, size: number, type: string): VmstateValue {
  const t = type.replace(/ equal$/, '');
  const view = new DataView(b.buffer, b.byteOffset + at, size);
  const le = t.endsWith(' le');
  const base = le ? t.slice(0, -3) : t;
  switch (base) {
    case 'bool':
      if (size === 1) return b[at] !== 0;
      break;
    case 'int8':
      if (size === 1) return view.getInt8(0);
      break;
    case 'uint8':
      if (size === 1) return view.getUint8(0);
      break;
    case 'int16':
      if (size === 2) return view.getInt16(0, le);
      break;
    case 'uint16':
      if (size === 2) return view.getUint16(0, le);
      break;
    case 'int32':
      if (size === 4) return view.getInt32(0, le);
      break;
    case 'uint32':
      if (size === 4) return view.getUint32(0, le);
      break;
    case 'int64':
    case 'timer':
      if (size === 8) return safe(view.getBigInt64(0, le));
      break;
    case 'uint64':
      if (size === 8) return safe(view.getBigUint64(0, le));
      break;
    case 'float64':
      if (size === 8) return view.getFloat64(0, le);
      break;
  }
  // Buffers, bitmaps and types we do not interpret: hex of the bytes.
  return Buffer.from(b.buffer, b.byteOffset + at, size).toString('hex');
}

function safe(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}
