/**
 * Captures built in the test with the codec's own encoders: a QEMU 11.1-style multifd + postcopy
 * migration (main + return path + N multifd channels, with chunks.csv arrival times), small enough
 * to doctor by hand, and hostile main streams (one page sent over and over).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { openCapture } from '@migwire/capture';
import { checkCapture, type CheckReport } from '../../src/index.js';
import { Command, encodeMainRecordParts, MultifdPacketBuilder, RamFlag, type MainRecordInput, type U64 } from '@migwire/stream-codec';

const concat = (parts: Uint8Array[]): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length)));
const main = (records: MainRecordInput[]): Buffer => concat(records.flatMap((r) => encodeMainRecordParts(r)));

const be32 = (n: number): Uint8Array => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

export function command(name: keyof typeof Command, payload: Uint8Array = new Uint8Array(0)): MainRecordInput {
  const c = Command[name];
  const args = name === 'Ping' ? { command: 'PING' as const, value: Buffer.from(payload).readUInt32BE(0) } : ({ command: name } as never);
  return { kind: 'command', command: c, name, payload, args } as MainRecordInput;
}

const ping = (value: number): MainRecordInput => command('Ping', be32(value));
const RAM = 2;
const BLOCK = 'pc.ram';
const BLOCK_BYTES = 1 << 20;

function ramStart(): MainRecordInput[] {
  return [
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'configuration', machine: 'pc-q35-11.1', subsections: [] },
    { kind: 'section', sectionType: 'start', sectionId: RAM, idstr: 'ram', instanceId: 0, versionId: 4 },
    { kind: 'ram-mem-size', sectionId: RAM, flags: RamFlag.MemSize, totalBytes: BLOCK_BYTES },
    { kind: 'ram-block', sectionId: RAM, block: { name: BLOCK, usedLength: BLOCK_BYTES } },
  ] as MainRecordInput[];
}

const marker = (kind: 'ram-eos' | 'ram-multifd-flush'): MainRecordInput => ({ kind, sectionId: RAM, flags: kind === 'ram-eos' ? RamFlag.Eos : RamFlag.MultifdFlush }) as MainRecordInput;
const footer = (): MainRecordInput => ({ kind: 'footer', sectionId: RAM }) as MainRecordInput;
const part = (): MainRecordInput => ({ kind: 'section', sectionType: 'part', sectionId: RAM, idstr: 'ram' }) as MainRecordInput;
const page = (offset: number, fill: number, first: boolean): MainRecordInput =>
  ({ kind: 'ram-page', sectionId: RAM, flags: RamFlag.Page | (first ? 0 : RamFlag.Continue), block: BLOCK, pageOffset: offset, data: new Uint8Array(4096).fill(fill) }) as MainRecordInput;

export interface SyntheticChunk {
  conn: number;
  dir: 'src2dst' | 'dst2src';
  t: number;
  bytes: Buffer;
}

/** One synthetic capture: each connection's chunks in arrival order. */
export interface SyntheticCapture {
  chunks: SyntheticChunk[];
}

/**
 * Multifd + postcopy as QEMU 10.1+ sends it: two rounds on `channels` multifd channels, the last
 * flush in the RAM section before the PACKAGED (LISTEN, PING 3, PING 0x42, RUN), then postcopy
 * pages on main. Times: precopy 1 s, multifd 2 s, the package 5 s, PONGs 5.5 s, postcopy 6 s, SHUT 6.5 s.
 */
export interface MultifdPostcopyOptions {
  channels?: number;
  /** Leave the final MULTIFD_FLUSH out of the RAM section before the package (it goes in an earlier one). */
  earlyFinalFlush?: boolean;
  /** Send command 8 (ENABLE_COLO) after OPEN_RETURN_PATH. */
  enableColo?: boolean;
}

export function multifdPostcopy(o: MultifdPostcopyOptions = {}): SyntheticCapture {
  const channels = o.channels ?? 2;
  const chunks: SyntheticChunk[] = [];
  const lastSection = o.earlyFinalFlush
    ? [marker('ram-multifd-flush'), marker('ram-eos'), footer(), part(), marker('ram-eos'), footer()]
    : [marker('ram-multifd-flush'), marker('ram-eos'), footer()];
  const precopy = main([
    ...ramStart(),
    marker('ram-multifd-flush'),
    marker('ram-eos'),
    footer(),
    command('OpenReturnPath'),
    ...(o.enableColo ? [command('EnableColo')] : []),
    part(),
    ...lastSection,
  ]);
  const nested = main([command('PostcopyListen'), ping(3), ping(0x42), command('PostcopyRun')]);
  const packaged = main([command('Packaged', be32(nested.length))]);
  const postcopy = main([part(), page(0x8000, 7, true), marker('ram-eos'), footer(), { kind: 'eof' } as MainRecordInput]);
  chunks.push({ conn: 0, dir: 'src2dst', t: 1, bytes: precopy });
  chunks.push({ conn: 0, dir: 'src2dst', t: 5, bytes: Buffer.concat([packaged, nested]) });
  chunks.push({ conn: 0, dir: 'src2dst', t: 6, bytes: postcopy });
  const pong = (v: number): Buffer => Buffer.from([0, 2, 0, 4, ...be32(v)]);
  chunks.push({ conn: 0, dir: 'dst2src', t: 5.5, bytes: Buffer.concat([pong(3), pong(0x42)]) });
  // The destination's SHUT (status 0) once it has loaded everything.
  chunks.push({ conn: 0, dir: 'dst2src', t: 6.5, bytes: Buffer.from([0, 1, 0, 4, 0, 0, 0, 0]) });
  let num = 0;
  const uuid = new Uint8Array(16).fill(1);
  for (let k = 0; k < channels; k++) {
    const b = new MultifdPacketBuilder({ layout: '10.0', compression: 'none' });
    const parts = [...b.init(k, uuid)];
    for (let round = 0; round < 2; round++) {
      parts.push(...b.pages({ packetNum: num++, block: BLOCK, normal: [{ offset: (round * channels + k) * 4096, data: new Uint8Array(4096).fill(round + 1) }], zero: [] }));
      parts.push(...b.sync(num++));
    }
    chunks.push({ conn: 1 + k, dir: 'src2dst', t: 2, bytes: concat(parts) });
  }
  return { chunks };
}

/** A packet builder's pages packet, for doctoring (packet number `num`, one page). */
export function pagesPacket(num: number, offset: number): Buffer {
  return concat(new MultifdPacketBuilder({ layout: '10.0', compression: 'none' }).pages({ packetNum: num, block: BLOCK, normal: [{ offset, data: new Uint8Array(4096).fill(9) }], zero: [] }));
}

/** A packet builder's SYNC packet, for doctoring (packet number `num`). */
export function syncPacket(num: U64): Buffer {
  return concat(new MultifdPacketBuilder({ layout: '10.0', compression: 'none' }).sync(num));
}

/** Writes the capture as connNN.*.bin files and chunks.csv; returns the directory. */
export function writeCapture(c: SyntheticCapture, prefix = 'mw-synthetic-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const files = new Map<string, Buffer[]>();
  const rows: string[] = ['seq,t,conn,dir,offset,len'];
  const offsets = new Map<string, number>();
  c.chunks
    .map((ch, i) => ({ ch, i }))
    .sort((a, b) => a.ch.t - b.ch.t || a.i - b.i)
    .forEach(({ ch }, seq) => {
      const key = `conn${String(ch.conn).padStart(2, '0')}.${ch.dir}.bin`;
      const at = offsets.get(key) ?? 0;
      rows.push(`${seq},${ch.t},${ch.conn},${ch.dir},${at},${ch.bytes.length}`);
      offsets.set(key, at + ch.bytes.length);
      files.set(key, [...(files.get(key) ?? []), ch.bytes]);
    });
  for (const [f, parts] of files) writeFileSync(join(dir, f), Buffer.concat(parts));
  writeFileSync(join(dir, 'chunks.csv'), rows.join('\n') + '\n');
  return dir;
}

/**
 * A main stream that sends one page `copies` times (ZERO records, or PAGE records when `data`),
 * then ends properly: the hostile input that once crashed check (issue 13, item 4).
 */
export function onePageOverAndOver(copies: number, o: { pages?: number; data?: boolean } = {}): Buffer {
  const parts: Uint8Array[] = [];
  for (const r of [...ramStart(), marker('ram-eos'), footer(), part()]) parts.push(...encodeMainRecordParts(r));
  const span = o.pages ?? 1;
  const data = new Uint8Array(4096).fill(3);
  for (let i = 0; i < copies; i++) {
    const pageOffset = (i % span) * 4096;
    const r = o.data
      ? { kind: 'ram-page', sectionId: RAM, flags: RamFlag.Page | (i ? RamFlag.Continue : 0), block: BLOCK, pageOffset, data }
      : { kind: 'ram-zero', sectionId: RAM, flags: RamFlag.Zero | (i ? RamFlag.Continue : 0), block: BLOCK, pageOffset, fill: 0 };
    parts.push(...encodeMainRecordParts(r as MainRecordInput));
  }
  for (const r of [marker('ram-eos'), footer(), { kind: 'eof' } as MainRecordInput]) parts.push(...encodeMainRecordParts(r));
  return concat(parts);
}

/** A writable copy of a capture with its channel files unpacked (tests that doctor raw bytes). */
export function unpackedCopy(from: string, prefix = 'mw-copy-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const f of readdirSync(from)) {
    const bytes = readFileSync(join(from, f));
    if (f.endsWith('.bin.gz')) writeFileSync(join(dir, f.slice(0, -3)), gunzipSync(bytes));
    else writeFileSync(join(dir, f), bytes);
  }
  return dir;
}

/** checkCapture on a synthetic capture written to a temp folder (built on purpose: no content check), then removed. */
export async function checkSynthetic(c: SyntheticCapture): Promise<CheckReport> {
  const dir = writeCapture(c);
  try {
    return await checkCapture(await openCapture(dir, { verify: false }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
