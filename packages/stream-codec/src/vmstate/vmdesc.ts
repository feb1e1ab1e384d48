/**
 * VMState field decoding guided by the JSON description QEMU appends to
 * precopy streams (VMDESCRIPTION) or that a caller supplies. Without it a
 * device section is kept as opaque bytes; with it, fields get names and values.
 * The description's shape is checked beforehand, in description.ts.
 */
import { ErrorCode } from '../core/errors.js';
import { PayloadProblem } from '../core/problem.js';
import { bytesToLatin1, readU32 } from '../core/bytes.js';
import { VMS_MARKER_PTR_NULL, VMS_MARKER_PTR_VALID } from '../core/constants.js';
import { checkVmdescDevice, type VmdescDevice, type VmdescField, type VmdescVmsd } from './description.js';

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

/**
 * Values one section may yield per byte of its data (plus VALUE_ALLOWANCE): QEMU's come to at most
 * one per byte. Values that take no bytes (empty structs, zero sizes) inside nested arrays could
 * otherwise multiply without end: a hostile description would make the decoder hang.
 */
const VALUES_PER_BYTE = 4;
const VALUE_ALLOWANCE = 1024;

interface Cursor {
  /** Position in the section data. */
  at: number;
  /** Values still allowed. */
  values: number;
}

/** decodeVmstate for a device nobody checked (the public API): BAD_VMDESC when it is malformed. */
export function decodeVmstateChecked(data: Uint8Array, device: VmdescDevice): VmstateDevice {
  checkVmdescDevice(device);
  return decodeVmstate(data, device);
}

/**
 * Decode a device section's data with its description; throws PayloadProblem on a mismatch.
 * `device` has passed the shape check (checkVmdesc, via indexVmdesc, or checkVmdescDevice).
 */
export function decodeVmstate(data: Uint8Array, device: VmdescDevice): VmstateDevice {
  const st: Cursor = { at: 0, values: VALUE_ALLOWANCE + VALUES_PER_BYTE * data.length };
  const body = decodeVmsd(data, device, st);
  return { name: device.name, instanceId: device.instance_id, fields: body.fields, subsections: body.subsections, consumed: st.at };
}

// Recursion is bounded by the shape check's MAX_VMDESC_DEPTH.
function decodeVmsd(b: Uint8Array, vmsd: Pick<VmdescVmsd, 'fields' | 'subsections'>, st: Cursor): VmstateStruct {
  const fields: VmstateField[] = [];
  for (const f of vmsd.fields ?? []) {
    const at = st.at;
    if (f.array_len !== undefined) {
      const n = f.array_len;
      if (n > b.length + 1) {
        throw new PayloadProblem(ErrorCode.BadVmstate, `field ${f.name}: array length beyond the section`, `<= ${b.length}`, String(n), at);
      }
      const values: VmstateValue[] = [];
      for (let i = 0; i < n; i++) values.push(decodeOne(b, f, st));
      fields.push({ name: f.name, type: f.type, at, value: values });
    } else {
      fields.push({ name: f.name, type: f.type, at, value: decodeOne(b, f, st) });
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
    const body = decodeVmsd(b, sub, st);
    subsections.push({ name, version, at, ...body });
  }
  return { fields, subsections };
}

function decodeOne(b: Uint8Array, f: VmdescField, st: Cursor): VmstateValue {
  if (--st.values < 0) throw new PayloadProblem(ErrorCode.BadVmstate, `field ${f.name}: the description lists more values than the section can hold`, `<= ${VALUE_ALLOWANCE} + ${VALUES_PER_BYTE} per byte`, 'more', st.at);
  if (f.type === 'struct' && f.struct) return decodeVmsd(b, f.struct, st);
  const size = f.size;
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

/** A vmdesc type parsed once: its base name and byte order (`" equal"` only says QEMU checks it). */
interface ScalarType {
  base: string;
  le: boolean;
}
const scalarTypes = new Map<string, ScalarType>();

function scalarType(type: string): ScalarType {
  let t = scalarTypes.get(type);
  if (!t) {
    const plain = type.replace(/ equal$/, '');
    const le = plain.endsWith(' le');
    t = { base: le ? plain.slice(0, -3) : plain, le };
    // Types come from the stream: a hostile description cannot grow the cache without end.
    if (scalarTypes.size < 4096) scalarTypes.set(type, t);
  }
  return t;
}

function scalar(b: Uint8Array, at: number, size: number, type: string): VmstateValue {
  const { base, le } = scalarType(type);
  // One-byte values (most of a device's fields) need no view.
  if (size === 1) {
    if (base === 'uint8') return b[at]!;
    if (base === 'bool') return b[at] !== 0;
    if (base === 'int8') return (b[at]! << 24) >> 24;
  }
  const view = new DataView(b.buffer, b.byteOffset + at, size);
  switch (base) {
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
