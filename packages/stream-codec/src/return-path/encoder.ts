import { writeU16, writeU32, writeU64 } from '../core/bytes.js';
import type { ReturnPathRecordInput } from './records.js';

/** Encode one return-path record (message or the bitmap blob after RECV_BITMAP). */
export function encodeReturnPathRecord(r: ReturnPathRecordInput): Uint8Array {
  if (r.kind === 'rp-message') {
    const b = new Uint8Array(4 + r.payload.length);
    writeU16(b, 0, r.type);
    writeU16(b, 2, r.payload.length);
    b.set(r.payload, 4);
    return b;
  }
  const b = new Uint8Array(16 + r.bitmap.length);
  writeU64(b, 0, r.bitmap.length);
  b.set(r.bitmap, 8);
  writeU32(b, 8 + r.bitmap.length, r.endingHi);
  writeU32(b, 12 + r.bitmap.length, r.endingLo);
  return b;
}
