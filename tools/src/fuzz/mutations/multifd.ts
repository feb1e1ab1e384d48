/** Multifd channels: init ids and versions, page and zero-page counts, sizes, numbers, flags. */
import { encodeMultifdRecord, type MultifdRecord, type U64 } from '@migwire/stream-codec';
import { interestingUint, patchUint, splice, toValue } from '../edit.js';
import type { Mutator, MutationKind } from '../mutation.js';
import type { Prng } from '../prng.js';
import type { MultifdSeed } from '../seed.js';

type Packet = Extract<MultifdRecord, { kind: 'multifd-packet' }>;
type Init = Extract<MultifdRecord, { kind: 'multifd-init' }>;

function packets(seed: MultifdSeed): Packet[] {
  return seed.records.filter((r): r is Packet => r.kind === 'multifd-packet');
}

function replace(seed: MultifdSeed, r: MultifdRecord, edited: MultifdRecord): Uint8Array {
  return splice(seed.bytes, r.offset, r.length, encodeMultifdRecord(edited));
}

export const multifdInitId: Mutator = (seed, prng) => {
  if (seed.channel !== 'multifd') return null;
  const r = seed.records.find((x): x is Init => x.kind === 'multifd-init');
  if (!r) return null;
  const v = prng.pick([0, 1, 3, 4, 7, 0x7f, 0xff].filter((x) => x !== r.channelId));
  return { bytes: replace(seed, r, { ...r, channelId: v }), mutation: { kind: 'multifd-init-id', path: 'init.channelId', old: r.channelId, new: v, offset: r.offset + 24 } };
};

export const multifdInitVersion: Mutator = (seed, prng) => {
  if (seed.channel !== 'multifd') return null;
  const r = seed.records.find((x): x is Init => x.kind === 'multifd-init');
  if (!r) return null;
  if (prng.chance(0.3)) {
    const v = Number(interestingUint(prng, 32, r.magic));
    return { bytes: replace(seed, r, { ...r, magic: v }), mutation: { kind: 'multifd-init-version', path: 'init.magic', old: r.magic, new: v, offset: r.offset } };
  }
  const v = Number(interestingUint(prng, 32, r.version));
  return { bytes: replace(seed, r, { ...r, version: v }), mutation: { kind: 'multifd-init-version', path: 'init.version', old: r.version, new: v, offset: r.offset + 4 } };
};

function packetField(kind: MutationKind, field: 'normalPages' | 'pagesAlloc' | 'zeroPages' | 'nextPacketSize' | 'packetNum', at: number, value: (prng: Prng, p: Packet, all: Packet[]) => U64): Mutator {
  return (seed, prng) => {
    if (seed.channel !== 'multifd') return null;
    const all = packets(seed);
    // Zero-page counts need a layout that has them; 7.2 packets get the raw field patched.
    if (!all.length) return null;
    const p = prng.pick(all);
    const old = p[field];
    const v = value(prng, p, all);
    const edited = { ...p, [field]: v };
    const bytes = field === 'zeroPages' && p.layout !== '10.0' ? patchUint(seed.bytes, p.offset + 32, 4, v) : replace(seed, p, edited);
    return { bytes, mutation: { kind, path: `packet[${p.packetNum} @${p.offset}].${field}`, old: toValue(BigInt(old)), new: toValue(BigInt(v)), offset: p.offset + at } };
  };
}

const PAGES_PER_PACKET = 128;

export const multifdPageCount: Mutator = (seed, prng) =>
  (prng.chance(0.7)
    ? packetField('multifd-page-count', 'normalPages', 16, (r, p) => r.pick([p.normalPages + 1, p.normalPages - 1, 0, PAGES_PER_PACKET, PAGES_PER_PACKET + 1, p.pagesAlloc + 1, 0xffffffff].filter((x) => x >= 0 && x !== p.normalPages)))
    : packetField('multifd-page-count', 'pagesAlloc', 12, (r, p) => r.pick([0, p.normalPages - 1, PAGES_PER_PACKET + 1, 0xffffffff, 1].filter((x) => x >= 0 && x !== p.pagesAlloc))))(seed, prng);

export const multifdZeroCount = packetField('multifd-zero-count', 'zeroPages', 32, (r, p) =>
  r.pick([p.zeroPages + 1, p.zeroPages - 1, 0, PAGES_PER_PACKET - p.normalPages, PAGES_PER_PACKET - p.normalPages + 1, 0xffffffff].filter((x) => x >= 0 && x !== p.zeroPages)),
);

export const multifdNextPacketSize = packetField('multifd-next-packet-size', 'nextPacketSize', 20, (r, p) => Number(interestingUint(r, 32, p.nextPacketSize)));

export const multifdPacketNum = packetField('multifd-packet-num', 'packetNum', 24, (r, p, all) => {
  const others = all.map((x) => x.packetNum).filter((n) => n !== p.packetNum);
  // BigInt arithmetic: a packet number may already be beyond 2^53.
  const n = BigInt(p.packetNum);
  return r.chance(0.4) && others.length ? r.pick(others) : r.pick([0n, n + 1n, n > 0n ? n - 1n : 0n, 2n ** 53n - 1n, 2n ** 32n].filter((x) => x !== n));
});

/** The flags word: compression methods (known and not), SYNC toggled, the device-state bit. */
export const multifdCompression: Mutator = (seed, prng) => {
  if (seed.channel !== 'multifd') return null;
  const all = packets(seed);
  if (!all.length) return null;
  const p = prng.pick(all);
  const comp = prng.pick([0x00, 0x02, 0x04, 0x08, 0x10, 0x20, 0x06, 0x3e]);
  const v = prng.pick([(p.flags & 1) | comp, p.flags ^ 1, p.flags | 0x40, p.flags | 0x80, prng.u32()].filter((x) => x !== p.flags));
  return { bytes: patchUint(seed.bytes, p.offset + 8, 4, v), mutation: { kind: 'multifd-compression', path: `packet[${p.packetNum} @${p.offset}].flags`, old: p.flags, new: v >>> 0, offset: p.offset + 8 } };
};
