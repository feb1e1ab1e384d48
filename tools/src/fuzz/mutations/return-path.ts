/** Return-path messages: types, lengths that disagree with payloads, and payload values. */
import { encodeReturnPathRecord, type ReturnPathRecord } from '@migwire/stream-codec';
import { interestingUint, patchUint, splice } from '../edit.js';
import type { Mutator } from '../mutation.js';

type Message = Extract<ReturnPathRecord, { kind: 'rp-message' }>;

function messages(records: readonly ReturnPathRecord[]): Message[] {
  return records.filter((r): r is Message => r.kind === 'rp-message');
}

export const rpType: Mutator = (seed, prng) => {
  if (seed.channel !== 'return-path') return null;
  const all = messages(seed.records);
  if (!all.length) return null;
  const r = prng.pick(all);
  const v = prng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 0xffff].filter((x) => x !== r.type));
  return { bytes: patchUint(seed.bytes, r.offset, 2, v), mutation: { kind: 'rp-type', path: `rp[${r.name} @${r.offset}].type`, old: r.type, new: v, offset: r.offset } };
};

export const rpLength: Mutator = (seed, prng) => {
  if (seed.channel !== 'return-path') return null;
  const all = messages(seed.records);
  if (!all.length) return null;
  const r = prng.pick(all);
  const v = Number(interestingUint(prng, 16, r.payload.length));
  return { bytes: patchUint(seed.bytes, r.offset + 2, 2, v), mutation: { kind: 'rp-length', path: `rp[${r.name} @${r.offset}].length`, old: r.payload.length, new: v, offset: r.offset + 2 } };
};

/** A payload byte, a payload grown or shrunk (length kept consistent), or the bitmap's size. */
export const rpPayload: Mutator = (seed, prng) => {
  if (seed.channel !== 'return-path') return null;
  const bitmaps = seed.records.filter((r): r is Extract<ReturnPathRecord, { kind: 'rp-recv-bitmap' }> => r.kind === 'rp-recv-bitmap');
  if (bitmaps.length && prng.chance(0.3)) {
    const r = prng.pick(bitmaps);
    const v = Number(interestingUint(prng, 32, r.bitmap.length));
    return { bytes: patchUint(seed.bytes, r.offset + 4, 4, v), mutation: { kind: 'rp-payload', path: `rp[bitmap ${JSON.stringify(r.block)} @${r.offset}].size`, old: r.bitmap.length, new: v, offset: r.offset + 4 } };
  }
  const all = messages(seed.records);
  if (!all.length) return null;
  const r = prng.pick(all);
  if (r.payload.length === 0 || prng.chance(0.3)) {
    const grow = prng.chance(0.5) || r.payload.length === 0;
    const payload = grow ? new Uint8Array([...r.payload, ...prng.bytes(prng.range(1, 8))]) : r.payload.subarray(0, prng.int(r.payload.length));
    const enc = encodeReturnPathRecord({ kind: 'rp-message', type: r.type, name: r.name, payload, args: r.args });
    return { bytes: splice(seed.bytes, r.offset, r.length, enc), mutation: { kind: 'rp-payload', path: `rp[${r.name} @${r.offset}].payloadLength`, old: r.payload.length, new: payload.length, offset: r.offset + 2 } };
  }
  const i = prng.int(r.payload.length);
  const old = r.payload[i]!;
  const v = Number(interestingUint(prng, 8, old));
  return { bytes: patchUint(seed.bytes, r.offset + 4 + i, 1, v), mutation: { kind: 'rp-payload', path: `rp[${r.name} @${r.offset}].payload[${i}]`, old, new: v, offset: r.offset + 4 + i } };
};
