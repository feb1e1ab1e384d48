/** Small helpers for reading and writing big-endian fields in plain Uint8Arrays. */


/** idstrs are raw bytes on the wire; latin1 maps every byte to one char and back. */
export function bytesToLatin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

export function latin1ToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function utf8(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}


export function readU16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** be64 as a JS number (rounded beyond 2^53): for fields bounded by the stream; readU64Exact otherwise. */
export function readU64(b: Uint8Array, at: number): number {
  return readU32(b, at) * 0x1_0000_0000 + readU32(b, at + 4);
}

/** A uint64 from the wire: a number while exact (<= Number.MAX_SAFE_INTEGER), else a bigint. */
export type U64 = number | bigint;

/** be64 without rounding: a number up to 2^53 - 1, a bigint beyond. */
export function readU64Exact(b: Uint8Array, at: number): U64 {
  const hi = readU32(b, at);
  const lo = readU32(b, at + 4);
  if (hi <= 0x1fffff) return hi * 0x1_0000_0000 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

export function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

export function writeU64(b: Uint8Array, at: number, v: U64): void {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v);
    writeU32(b, at, Number(u >> 32n));
    writeU32(b, at + 4, Number(u & 0xffff_ffffn));
    return;
  }
  const hi = Math.floor(v / 0x1_0000_0000);
  writeU32(b, at, hi >>> 0);
  writeU32(b, at + 4, v >>> 0);
}

/** Concatenate parts into one buffer (encoders build records from a few small parts). */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function isPrintableAscii(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

export function toHex(b: Uint8Array, max = 32): string {
  const n = Math.min(b.length, max);
  let s = '';
  for (let i = 0; i < n; i++) s += b[i]!.toString(16).padStart(2, '0');
  return b.length > max ? s + '…' : s;
}
