/** Byte-level building blocks the mutators share: splicing, patching, interesting values. */
import type { Prng } from './prng.js';

/** `bytes` with [at, at+remove) replaced by `insert` (a new buffer; the seed is never touched). */
export function splice(bytes: Uint8Array, at: number, remove: number, ...insert: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of insert) n += p.length;
  const out = new Uint8Array(bytes.length - remove + n);
  out.set(bytes.subarray(0, at), 0);
  let pos = at;
  for (const p of insert) {
    out.set(p, pos);
    pos += p.length;
  }
  out.set(bytes.subarray(at + remove), pos);
  return out;
}

/** A copy of `bytes` with `value` written big-endian (or little-endian) in `size` bytes at `at`. */
export function patchUint(bytes: Uint8Array, at: number, size: number, value: number | bigint, littleEndian = false): Uint8Array {
  const out = bytes.slice();
  writeUint(out, at, size, value, littleEndian);
  return out;
}

export function writeUint(b: Uint8Array, at: number, size: number, value: number | bigint, littleEndian = false): void {
  let v = BigInt.asUintN(size * 8, typeof value === 'bigint' ? value : BigInt(Math.trunc(value)));
  for (let i = 0; i < size; i++) {
    const pos = littleEndian ? at + i : at + size - 1 - i;
    b[pos] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export function readUint(b: Uint8Array, at: number, size: number, littleEndian = false): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(b[littleEndian ? at + size - 1 - i : at + i]!);
  return v;
}

/**
 * A value for an unsigned field of `bits` bits that is likely to matter: boundaries, off-by-one
 * around the old value, sign bits, and now and then anything at all. Never equal to `old`
 * unless the field has only one value.
 */
export function interestingUint(prng: Prng, bits: number, old: bigint | number): bigint {
  const max = (1n << BigInt(bits)) - 1n;
  const o = BigInt(old);
  const candidates = [0n, 1n, o + 1n, o - 1n, o * 2n, o + 16n, max, max - 1n, max >> 1n, (max >> 1n) + 1n, 0x7fn, 0x80n, 0xffn, 0x100n, 0xffffn, 0x10000n];
  for (let tries = 0; tries < 8; tries++) {
    const v = prng.chance(0.15) ? BigInt.asUintN(bits, (BigInt(prng.u32()) << 32n) | BigInt(prng.u32())) : BigInt.asUintN(bits, prng.pick(candidates));
    if (v !== o || max === 0n) return v;
  }
  return BigInt.asUintN(bits, o ^ 1n);
}

export const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x04, 0x05, 0x07, 0x08, 0x10, 0x20, 0x3f, 0x40, 0x7e, 0x7f, 0x80, 0xfe, 0xff];

export function toValue(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : '0x' + v.toString(16);
}

export function latin1(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}
