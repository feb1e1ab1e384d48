/**
 * A main stream captured from mid-way: MainResync finds the first RAM record boundary from any cut
 * point (and nothing in random, zero or text bytes), and MainStreamDecoder with resumeInRam decodes
 * from there exactly the records a whole decode has after that point.
 */
import test from 'ava';
import { join } from 'node:path';
import {
  decodeMainStream,
  encodeMainStream,
  ErrorCode,
  MAIN_RESYNC_CHAIN,
  MainResync,
  RESUMED_BLOCK_UNKNOWN,
  RESUMED_SECTION_UNKNOWN,
  type MainRecord,
  type MainRecordInput,
} from '../src/index.js';
import { rng } from './feed.js';
import { FIXTURES, readChannelFile } from './paths.js';

const RAM = 3;
const noisy = (seed: number): Uint8Array => {
  const r = rng(seed);
  return Uint8Array.from({ length: 4096 }, () => Math.floor(r() * 256));
};

/** Pages of one RAM section part: named and CONTINUE pages, zero pages, two blocks. */
function part(k: number): MainRecordInput[] {
  const out: MainRecordInput[] = [{ kind: 'section', sectionType: k === 2 ? 'end' : 'part', sectionId: RAM, idstr: 'ram' }];
  const page = (flags: number, block: string, at: number, seed: number): MainRecordInput => ({ kind: 'ram-page', sectionId: RAM, flags, block, pageOffset: at * 4096, data: noisy(seed) });
  const zero = (flags: number, block: string, at: number): MainRecordInput => ({ kind: 'ram-zero', sectionId: RAM, flags, block, pageOffset: at * 4096, fill: 0 });
  out.push(page(0x08, 'pc.ram', 10 * k, k * 100), zero(0x22, 'pc.ram', 10 * k + 1), page(0x28, 'pc.ram', 10 * k + 2, k * 100 + 1), zero(0x22, 'pc.ram', 10 * k + 3));
  out.push(zero(0x02, 'pc.bios', k), page(0x28, 'pc.bios', k + 8, k * 100 + 2), zero(0x22, 'pc.bios', k + 16));
  // A page of zeros and a page that holds a RAM-record-looking header are still only payloads.
  const decoy = new Uint8Array(4096);
  decoy.set([0, 0, 0, 0, 0, 0, 0x10, 0x22, 0], 100);
  out.push({ kind: 'ram-page', sectionId: RAM, flags: 0x28, block: 'pc.bios', pageOffset: (k + 24) * 4096, data: k === 1 ? decoy : new Uint8Array(4096) });
  out.push({ kind: 'ram-eos', sectionId: RAM, flags: 0x10 }, { kind: 'footer', sectionId: RAM });
  return out;
}

function stream(): Uint8Array {
  return encodeMainStream([
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'section', sectionType: 'start', sectionId: RAM, idstr: 'ram', instanceId: 0, versionId: 4 },
    { kind: 'ram-mem-size', sectionId: RAM, flags: 0x04, totalBytes: 0x40000 + 0x20000 },
    { kind: 'ram-block', sectionId: RAM, block: { name: 'pc.ram', usedLength: 0x40000 } },
    { kind: 'ram-block', sectionId: RAM, block: { name: 'pc.bios', usedLength: 0x20000 } },
    { kind: 'ram-eos', sectionId: RAM, flags: 0x10 },
    { kind: 'footer', sectionId: RAM },
    ...part(0),
    ...part(1),
    ...part(2),
    { kind: 'section', sectionType: 'full', sectionId: 5, idstr: 'timer', instanceId: 0, versionId: 2 },
    { kind: 'device-state', sectionId: 5, idstr: 'timer', data: Uint8Array.of(1, 2, 3) },
    { kind: 'footer', sectionId: 5 },
    { kind: 'eof' },
  ]);
}

const RAM_KINDS = new Set(['ram-page', 'ram-zero', 'ram-xbzrle', 'ram-eos', 'ram-multifd-flush']);

/** Does a chain of MAIN_RESYNC_CHAIN records in a row (RAM records; after EOS its footer and PART/END) start at record k? */
function chainStartsAt(records: MainRecord[], k: number): boolean {
  if (!RAM_KINDS.has(records[k]!.kind)) return false;
  let afterEos = false;
  for (let n = 0; n < MAIN_RESYNC_CHAIN; n++) {
    const r = records[k + n];
    if (!r) return false;
    if (afterEos) {
      if (r.kind === 'section' && (r.sectionType === 'part' || r.sectionType === 'end')) afterEos = false;
      else if (r.kind !== 'footer') return false;
    } else if (!RAM_KINDS.has(r.kind)) return false;
    else afterEos = r.kind === 'ram-eos';
  }
  return true;
}

function scan(bytes: Uint8Array, from: number, step = bytes.length): number | undefined {
  const s = new MainResync();
  for (let at = from; at < bytes.length && s.found === undefined; at += step) s.push(at, bytes.subarray(at, Math.min(at + step, bytes.length)));
  return s.found;
}

/** Records of a resumed decode compared with the whole decode's from the boundary on: where they first differ, or undefined. */
function resumedDifference(bytes: Uint8Array, full: MainRecord[], at: number, sectionId: number): string | undefined {
  const { records, error } = decodeMainStream(bytes.subarray(at), { resumeInRam: {} });
  if (error) return `resumed at ${at}: ${error.message}`;
  const tail = full.filter((r) => r.offset >= at);
  if (records.length !== tail.length) return `resumed at ${at}: ${records.length} records, the whole decode has ${tail.length} after it`;
  let learnt = false;
  let named = false;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const w = tail[i]!;
    const bad = (what: string): string => `resumed at ${at}, record ${i} (${r.kind} at ${r.offset}): ${what}`;
    if (r.kind !== w.kind || r.offset + at !== w.offset || r.length !== w.length) return bad(`whole decode has ${w.kind} at ${w.offset}`);
    if (r.kind === 'footer' || r.kind === 'section') learnt = true;
    if (r.kind.startsWith('ram-') && 'sectionId' in r && r.sectionId !== (learnt ? sectionId : RESUMED_SECTION_UNKNOWN)) return bad(`section ${r.sectionId}`);
    if ('pageOffset' in r && 'pageOffset' in w) {
      if (!(r.flags & 0x20)) named = true;
      if (r.pageOffset !== w.pageOffset) return bad(`page offset ${r.pageOffset}, whole decode ${w.pageOffset}`);
      if (r.block !== (named ? w.block : RESUMED_BLOCK_UNKNOWN)) return bad(`block ${JSON.stringify(r.block)}`);
    }
    if (r.kind === 'ram-page' && w.kind === 'ram-page' && Buffer.compare(r.data, w.data) !== 0) return bad('other page bytes');
  }
  return undefined;
}

test('from every cut point inside the RAM parts, the scan finds the first record a chain starts at, and the decode from it matches', (t) => {
  const bytes = stream();
  const { records: full, error } = decodeMainStream(bytes);
  t.is(error, undefined);
  const firstPart = full.find((r) => r.kind === 'section' && r.sectionType === 'part')!;
  const lastRam = full.filter((r) => RAM_KINDS.has(r.kind)).at(-1)!;
  const starts = full.map((r, k) => (chainStartsAt(full, k) ? r.offset : -1)).filter((o) => o >= 0);
  const checked = new Set<number>();
  for (let cut = firstPart.offset; cut <= lastRam.offset; cut++) {
    const expected = starts.find((o) => o >= cut);
    const found = scan(bytes, cut);
    if (found !== expected) {
      t.fail(`cut ${cut}: found ${found}, expected ${expected}`);
      return;
    }
    if (found !== undefined && !checked.has(found)) {
      checked.add(found);
      const diff = resumedDifference(bytes, full, found, RAM);
      if (diff) {
        t.fail(diff);
        return;
      }
    }
  }
  t.true(checked.size >= 20, `${checked.size} boundaries`);
  // The last RAM records are followed by device state: too few in a row to be sure of them.
  t.is(scan(bytes, lastRam.offset), undefined);
});

test('fed one byte at a time, or in odd chunks, the scan finds the same boundary', (t) => {
  const bytes = stream();
  for (const cut of [40, 4200, 4203, 9000, 20_001, 37_000]) {
    const whole = scan(bytes, cut);
    t.not(whole, undefined);
    t.is(scan(bytes, cut, 1), whole, `cut ${cut}`);
    t.is(scan(bytes, cut, 777), whole, `cut ${cut}`);
  }
});

test('random bytes, zero bytes and text hold no boundary, and the scan gives up at its limit', (t) => {
  const r = rng(7);
  const random = Uint8Array.from({ length: 1 << 20 }, () => Math.floor(r() * 256));
  t.is(scan(random, 0, 1448), undefined);
  t.is(scan(new Uint8Array(1 << 20), 0, 65536), undefined);
  const http = new TextEncoder().encode('GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n'.repeat(5000));
  t.is(scan(http, 0, 1448), undefined);
  const s = new MainResync({ maxScanBytes: 100_000 });
  for (let at = 0; at < random.length && !s.done; at += 4096) s.push(at, random.subarray(at, at + 4096));
  t.true(s.gaveUp);
  t.is(s.found, undefined);
});

test('a resumed decode fails with SECTION_START_NOT_CAPTURED on a section whose START came before the cut', (t) => {
  const page = (at: number): MainRecordInput => ({ kind: 'ram-page', sectionId: RAM, flags: 0x28, block: 'pc.ram', pageOffset: at * 4096, data: noisy(at) });
  const bytes = encodeMainStream([
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'section', sectionType: 'start', sectionId: RAM, idstr: 'ram', instanceId: 0, versionId: 4 },
    { kind: 'ram-eos', sectionId: RAM, flags: 0x10 },
    { kind: 'footer', sectionId: RAM },
    { kind: 'section', sectionType: 'start', sectionId: 7, idstr: 'dirty-bitmap', instanceId: 0, versionId: 1 },
    { kind: 'device-state', sectionId: 7, idstr: 'dirty-bitmap', data: Uint8Array.of(9) },
    { kind: 'footer', sectionId: 7 },
    { kind: 'section', sectionType: 'part', sectionId: RAM, idstr: 'ram' },
    { kind: 'ram-page', sectionId: RAM, flags: 0x08, block: 'pc.ram', pageOffset: 0, data: noisy(0) },
    ...[1, 2, 3, 4].map(page),
    { kind: 'ram-eos', sectionId: RAM, flags: 0x10 },
    { kind: 'footer', sectionId: RAM },
    { kind: 'section', sectionType: 'part', sectionId: 7, idstr: 'dirty-bitmap' },
    { kind: 'device-state', sectionId: 7, idstr: 'dirty-bitmap', data: Uint8Array.of(9) },
    { kind: 'footer', sectionId: 7 },
    { kind: 'eof' },
  ]);
  const { records: full, error: whole } = decodeMainStream(bytes);
  t.is(whole, undefined);
  const second = full.filter((r) => r.kind === 'ram-page')[1]!;
  const at = scan(bytes, second.offset - 100)!;
  t.is(at, second.offset);
  const { records, error } = decodeMainStream(bytes.subarray(at), { channel: 'main', resumeInRam: {} });
  t.is(error?.code, ErrorCode.SectionStartNotCaptured);
  t.is(error?.channel, 'main');
  const part7 = full.filter((r) => r.kind === 'section' && r.sectionId === 7 && r.sectionType === 'part')[0]!;
  t.is(error!.offset + at, part7.offset + 1);
  t.regex(error!.message, /section 7's START was not captured/);
  t.deepEqual(records.slice(-2).map((r) => r.kind), ['ram-eos', 'footer']);
  // Told the RAM section's id beforehand, the EOS already carries it.
  const told = decodeMainStream(bytes.subarray(at), { resumeInRam: { sectionId: RAM } });
  t.is((told.records.find((r) => r.kind === 'ram-eos') as { sectionId: number }).sectionId, RAM);
});

test('a real QEMU 10.0 precopy stream cut inside its RAM decodes from the boundary found exactly as the whole stream does', (t) => {
  const bytes = readChannelFile(join(FIXTURES, '10.0-precopy-file', 'stream.bin.gz'));
  const { records: full, error } = decodeMainStream(bytes);
  t.is(error, undefined);
  const pages = full.filter((r) => r.kind === 'ram-page' || r.kind === 'ram-zero');
  t.true(pages.length > 1000);
  const ramSection = (pages[0] as { sectionId: number }).sectionId;
  for (const frac of [0.1, 0.33, 0.5, 0.77, 0.95]) {
    const target = pages[Math.floor(pages.length * frac)]!;
    for (const into of [0, 1, 5, 9, 2000]) {
      const cut = target.offset + into;
      const at = scan(bytes, cut, 1448);
      // The first record at or after the cut whose chain parses: here always the next RAM record.
      const next = full.find((r) => r.offset >= cut)!;
      t.is(at, next.offset, `cut ${cut}`);
      t.is(resumedDifference(bytes, full, at!, ramSection), undefined);
    }
  }
});
