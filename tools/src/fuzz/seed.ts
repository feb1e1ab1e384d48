/**
 * Seeds: real streams (a fixture's stream.bin.gz, a capture's channel, a stream file) read whole
 * into memory and decoded once, so mutations can address records by position. A seed that does
 * not decode cleanly is refused: mutating a broken stream tells nothing.
 */
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  decodeMainStream,
  decodeMultifdChannel,
  decodeReturnPath,
  isVmdesc,
  type MainRecord,
  type MultifdRecord,
  type ReturnPathRecord,
  type Vmdesc,
} from '@migwire/stream-codec';
import { openCapture, readCaptureMeta, requireStreamStart } from '@migwire/capture';
import { DataError, InputError } from '../input-error.js';
import { recordedDeviceArgs, type QemuVersion } from '@migwire/qemu';

export type SeedChannel = 'main' | 'return-path' | 'multifd';

/** What the destination QEMU must look like to load a main-stream seed (from meta.json). */
export interface SeedTarget {
  machine: string;
  memMiB: number;
  qemu: QemuVersion;
  /** Migration capabilities the source had on (the destination needs the same). */
  caps: Record<string, boolean>;
  /** The recorded destination's devices and what they need (a destination without them refuses their sections). */
  devices: string[];
}


interface SeedBase {
  /** Where it came from, e.g. "fixtures/10.0-precopy-file:main". */
  name: string;
  bytes: Uint8Array;
  target?: SeedTarget;
}

export interface MainSeed extends SeedBase {
  channel: 'main';
  records: MainRecord[];
  vmdesc?: Vmdesc;
}
export interface ReturnPathSeed extends SeedBase {
  channel: 'return-path';
  records: ReturnPathRecord[];
}
export interface MultifdSeed extends SeedBase {
  channel: 'multifd';
  records: MultifdRecord[];
}
export type Seed = MainSeed | ReturnPathSeed | MultifdSeed;

export interface LoadSeedOptions {
  /** Channel of a capture directory: main (default), return-path, "multifd N", connNN.src2dst ... */
  channel?: string;
  /** Which migration of a pcap/pcapng holding several. */
  migration?: number;
}

/** Read a seed from a fixture or capture directory, a stream file (.gz unpacked) or a pcap/pcapng. */
export async function loadSeed(path: string, options: LoadSeedOptions = {}): Promise<Seed> {
  const input = await openCapture(path, options.migration !== undefined ? { migration: options.migration } : {});
  const want = options.channel ?? 'main';
  const ch = input.channels.find((c) => c.name === want || `conn${String(c.conn).padStart(2, '0')}.${c.direction}` === want);
  if (!ch) {
    throw new InputError(`${path} has no channel ${want} (has ${input.channels.map((c) => c.name).join(', ')})`);
  }
  // Mutants of a stream without its start tell nothing: QEMU (and our decoder) stop at its first bytes.
  requireStreamStart(input, `cannot use ${ch.name} as a fuzz seed: a seed must hold its stream from the start`, [ch]);
  const parts: Uint8Array[] = [];
  for await (const part of ch.open()) parts.push(part);
  const bytes = new Uint8Array(Buffer.concat(parts));
  const role = ch.role === 'main' ? 'main' : ch.role === 'return-path' ? 'return-path' : ch.role === 'multifd' ? 'multifd' : undefined;
  if (!role) throw new InputError(`${path}: channel ${ch.name} is ${ch.role}; seeds are main, return-path or multifd channels`);
  const name = `${path}:${ch.name}`;
  const target = readTarget(statSync(path).isDirectory() ? path : dirname(path));
  return seedFromBytes(name, role, bytes, target);
}

/** Decode bytes as a seed of the given channel kind (throws InputError when they do not decode). */
export function seedFromBytes(name: string, channel: SeedChannel, bytes: Uint8Array, target?: SeedTarget): Seed {
  const base = { name, bytes, ...(target ? { target } : {}) };
  if (channel === 'main') {
    const first = decodeMainStream(bytes);
    if (first.error) throw new DataError(`seed ${name} does not decode: ${first.error.message}`);
    const vmdescRec = first.records.find((r) => r.kind === 'vmdescription');
    const vmdesc = vmdescRec && isVmdesc(vmdescRec.description) ? vmdescRec.description : undefined;
    // Decode again with the trailer in hand, so device sections carry their VMState fields.
    const records = vmdesc ? decodeMainStream(bytes, { vmdesc }).records : first.records;
    return { ...base, channel, records, ...(vmdesc ? { vmdesc } : {}) };
  }
  if (channel === 'return-path') {
    const r = decodeReturnPath(bytes);
    if (r.error) throw new DataError(`seed ${name} does not decode: ${r.error.message}`);
    return { ...base, channel, records: r.records };
  }
  const r = decodeMultifdChannel(bytes);
  if (r.error) throw new DataError(`seed ${name} does not decode: ${r.error.message}`);
  return { ...base, channel, records: r.records };
}

/** Machine, RAM size, QEMU release and capabilities from the meta.json next to a stream. */
export function readTarget(dir: string): SeedTarget | undefined {
  const meta = readCaptureMeta(dir);
  if (!meta) return undefined;
  const argv = meta.qemu?.dst?.argv ?? [];
  const m = argv.indexOf('-M');
  const machine = (m >= 0 ? argv[m + 1] : undefined) ?? meta.machine ?? 'q35';
  const memMiB = Number.parseInt(meta.mem ?? '', 10);
  const build = meta.qemu?.dst?.build === '7.2' ? '7.2' : '10.0';
  if (!Number.isFinite(memMiB)) return undefined;
  return { machine, memMiB, qemu: build, caps: meta.caps ?? {}, devices: recordedDeviceArgs(argv) };
}

/** A short label for a seed path: "10.0-precopy-file" for fixtures/10.0-precopy-file. */
export function seedLabel(seed: Seed): string {
  const [path, channel] = splitName(seed.name);
  const label = basename(path.replace(/\/(stream\.bin(\.gz)?)$/, ''));
  return channel === 'main' ? label : `${label}:${channel}`;
}

function splitName(name: string): [string, string] {
  const i = name.lastIndexOf(':');
  return i < 0 ? [name, 'main'] : [name.slice(0, i), name.slice(i + 1)];
}
