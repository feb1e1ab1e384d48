/**
 * Smaller seeds from big ones: a 32 MiB guest's stream is mostly page records, and a fuzzer that
 * copies 3 MB per input spends its time in memcpy. A reduced seed keeps every record that is not a
 * RAM page, every page of each block's first MiB, and the first few pages of each kind beyond it,
 * so every structure is still there and the guest's firmware too.
 */
import { encodeMainRecord, RamFlag, type MainRecord, type MultifdRecord } from '@migwire/stream-codec';
import { seedFromBytes, type Seed } from './seed.js';

export interface ReduceOptions {
  /** RAM page records of each kind (PAGE, ZERO, XBZRLE, compressed) kept. Default 6. */
  pagesPerKind?: number;
  /** Multifd packets kept after the init message. Default 3 (page inflation dominates a multifd input). */
  multifdPackets?: number;
  /**
   * Keep every page of each block's first MiB (the guest's firmware), for seeds QEMU is to load
   * (`fuzz qemu`, `fuzz mutate`). Default true; our own codec needs none of it (`fuzz codec`).
   */
  firmware?: boolean;
}

const PAGE_KINDS = new Set(['ram-page', 'ram-zero', 'ram-xbzrle', 'ram-compressed']);

/**
 * Pages below this offset of their block are all kept. A PC guest's first MiB holds the BIOS and
 * option ROMs shadowed in RAM, and devices read them when they load: kvm-tpr-opt (the VAPIC
 * option ROM's state) refused every reduced seed with "Operation not permitted" without them, so a
 * `fuzz qemu --reduce` campaign never reached another device.
 */
const LOW_BYTES_KEPT = 1024 * 1024;

/** A seed with most RAM pages dropped; the result decodes as cleanly as the original. */
export function reduceSeed(seed: Seed, options: ReduceOptions = {}): Seed {
  const name = `${seed.name} (reduced)`;
  const target = seed.target;
  if (seed.channel === 'main') {
    const bytes = reduceMain(seed.bytes, seed.records, options.pagesPerKind ?? 6, options.firmware ?? true);
    return seedFromBytes(name, 'main', bytes, target);
  }
  if (seed.channel === 'multifd') {
    const keep = 1 + (options.multifdPackets ?? 3);
    const end = endOf(seed.records.slice(0, keep));
    return seedFromBytes(name, 'multifd', seed.bytes.slice(0, end), target);
  }
  return seed;
}

function endOf(records: readonly MultifdRecord[]): number {
  const last = records[records.length - 1];
  return last ? last.offset + last.length : 0;
}

function reduceMain(bytes: Uint8Array, records: readonly MainRecord[], perKind: number, firmware: boolean): Uint8Array {
  const kept = new Map<string, number>();
  const parts: Uint8Array[] = [];
  let lastBlock: string | undefined;
  let total = 0;
  const add = (b: Uint8Array): void => {
    parts.push(b);
    total += b.length;
  };
  for (const r of records) {
    // A PACKAGED stream's length covers its records: keep nested records whole.
    if (r.depth > 0 || !PAGE_KINDS.has(r.kind)) {
      if (r.kind === 'ram-mem-size') lastBlock = undefined;
      add(bytes.subarray(r.offset, r.offset + r.length));
      continue;
    }
    const page = r as Extract<MainRecord, { kind: 'ram-page' | 'ram-zero' | 'ram-xbzrle' | 'ram-compressed' }>;
    if (!firmware || page.pageOffset >= LOW_BYTES_KEPT) {
      const n = kept.get(r.kind) ?? 0;
      if (n >= perKind) continue;
      kept.set(r.kind, n + 1);
    }
    // CONTINUE means "same block as the previous page record": true only if that one was kept.
    const flags = page.block === lastBlock ? page.flags | RamFlag.Continue : page.flags & ~RamFlag.Continue;
    lastBlock = page.block;
    add(encodeMainRecord({ ...page, flags }));
  }
  return new Uint8Array(Buffer.concat(parts, total));
}
