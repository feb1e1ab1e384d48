/** The RAM section: flag bits, page offsets beyond their block, MEM_SIZE totals and block lists. */
import { encodeMainRecord, RamFlag } from '@migwire/stream-codec';
import { patchUint, splice } from '../edit.js';
import type { Mutator } from '../mutation.js';
import { mainIndex } from './main-index.js';

const PAGE = 4096;
const FLAG_BITS = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x100, 0x200, 0x400, 0x800];

/** The low 12 bits of a RAM record's be64 header, patched in place (the layout after it stays). */
export const ramFlags: Mutator = (seed, prng) => {
  if (seed.channel !== 'main') return null;
  const ix = mainIndex(seed);
  if (!ix.ram.length) return null;
  const r = prng.pick(ix.ram);
  const old = r.flags;
  let v: number;
  const how = prng.int(3);
  if (how === 0) v = old ^ prng.pick(FLAG_BITS);
  else if (how === 1) v = prng.pick([RamFlag.Zero, RamFlag.Page, RamFlag.Xbzrle, RamFlag.CompressPage, RamFlag.Eos, RamFlag.MemSize, RamFlag.Hook, RamFlag.MultifdFlush, RamFlag.Full]) | (old & RamFlag.Continue);
  else v = prng.int(PAGE);
  if (v === old) v = old ^ RamFlag.Continue;
  const hiLo = seed.bytes[r.offset + 6]! & 0xf0;
  const bytes = seed.bytes.slice();
  bytes[r.offset + 6] = hiLo | ((v >> 8) & 0x0f);
  bytes[r.offset + 7] = v & 0xff;
  return { bytes, mutation: { kind: 'ram-flags', path: `ram[${r.kind} @${r.offset}].flags`, old, new: v, offset: r.offset + 6 } };
};

/** A page record whose offset lies at or beyond its block's end (or beyond 2^53). */
export const ramOffset: Mutator = (seed, prng) => {
  if (seed.channel !== 'main') return null;
  const ix = mainIndex(seed);
  if (!ix.pages.length) return null;
  const r = prng.pick(ix.pages);
  const used = ix.blockLength.get(r.block) ?? r.pageOffset + PAGE;
  const pages = Math.floor(used / PAGE);
  const choice = prng.int(6);
  if (choice === 5) {
    // The high half of the be64: an offset no block can have (beyond 2^53).
    const hi = prng.pick([0x00200000, 0x7fffffff, 0xffffffff]);
    return {
      bytes: patchUint(seed.bytes, r.offset, 4, hi),
      mutation: { kind: 'ram-offset', path: `ram[${r.kind} ${JSON.stringify(r.block)} @${r.offset}].offset.hi`, old: Math.floor(r.pageOffset / 2 ** 32), new: hi, offset: r.offset },
    };
  }
  const v = [used, used + PAGE, (pages + prng.int(1 << 16)) * PAGE, 2 ** 40, Math.max(0, used - PAGE) + (prng.chance(0.5) ? PAGE : 0)][choice]!;
  const enc = encodeMainRecord({ ...r, pageOffset: v });
  return {
    bytes: splice(seed.bytes, r.offset, r.length, enc),
    mutation: { kind: 'ram-offset', path: `ram[${r.kind} ${JSON.stringify(r.block)} @${r.offset}].offset`, old: r.pageOffset, new: v, offset: r.offset },
  };
};

export const ramMemSize: Mutator = (seed, prng) => {
  if (seed.channel !== 'main') return null;
  const ix = mainIndex(seed);
  if (!ix.memSizes.length) return null;
  const r = prng.pick(ix.memSizes);
  const old = r.totalBytes;
  const v = prng.pick([old + PAGE, old - PAGE, 0, old * 2, old + 1 * PAGE * 1024, 2 ** 52, Math.floor(old / 2)].filter((x) => x >= 0 && x !== old));
  return {
    bytes: splice(seed.bytes, r.offset, r.length, encodeMainRecord({ ...r, totalBytes: v })),
    mutation: { kind: 'ram-mem-size', path: `ram[mem-size @${r.offset}].totalBytes`, old, new: v, offset: r.offset },
  };
};

/** One entry of the MEM_SIZE block list: its length, its name, or the entry itself. */
export const ramBlockList: Mutator = (seed, prng) => {
  if (seed.channel !== 'main') return null;
  const ix = mainIndex(seed);
  if (!ix.blocks.length) return null;
  const r = prng.pick(ix.blocks);
  const path = `ram[block ${JSON.stringify(r.block.name)} @${r.offset}]`;
  switch (prng.int(5)) {
    case 0: {
      const old = r.block.usedLength;
      const v = prng.pick([old + PAGE, old - PAGE, 0, old * 2, old + 1, 2 ** 48].filter((x) => x >= 0 && x !== old));
      return {
        bytes: splice(seed.bytes, r.offset, r.length, encodeMainRecord({ ...r, block: { ...r.block, usedLength: v } })),
        mutation: { kind: 'ram-block-list', path: `${path}.usedLength`, old, new: v, offset: r.offset + 1 + r.block.name.length },
      };
    }
    case 1: {
      const old = r.block.name;
      const v = prng.pick([old + 'x', old.slice(0, -1), '', '/rom@etc/acpi/tables', 'pc.ram'.padEnd(255, '.')].filter((x) => x !== old));
      return {
        bytes: splice(seed.bytes, r.offset, r.length, encodeMainRecord({ ...r, block: { ...r.block, name: v } })),
        mutation: { kind: 'ram-block-list', path: `${path}.name`, old, new: v, offset: r.offset },
      };
    }
    case 2: {
      // The name length byte disagrees with the name.
      const old = r.block.name.length;
      const v = prng.pick([0, old - 1, old + 1, 0xff].filter((x) => x >= 0 && x !== old));
      return { bytes: patchUint(seed.bytes, r.offset, 1, v), mutation: { kind: 'ram-block-list', path: `${path}.nameLength`, old, new: v, offset: r.offset } };
    }
    case 3:
      return { bytes: splice(seed.bytes, r.offset, r.length), mutation: { kind: 'ram-block-list', path: `${path}`, old: 'present', new: 'dropped', offset: r.offset } };
    default: {
      const copy = seed.bytes.subarray(r.offset, r.offset + r.length);
      return { bytes: splice(seed.bytes, r.offset + r.length, 0, copy), mutation: { kind: 'ram-block-list', path: `${path}`, old: 'once', new: 'twice', offset: r.offset + r.length } };
    }
  }
};

