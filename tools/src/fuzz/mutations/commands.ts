/**
 * MIG_CMD_* records: length fields that disagree with the payload, payloads QEMU must parse, and
 * PACKAGED streams whose length cuts records in two. Precopy seeds carry few commands, so a
 * mutator without one to change inserts one at a record boundary.
 */
import { Command, encodeMainRecord, type MainRecord } from '@migwire/stream-codec';
import { interestingUint, latin1, patchUint, splice, toValue, writeUint } from '../edit.js';
import type { Mutant, Mutator } from '../mutation.js';
import type { Prng } from '../prng.js';
import type { MainSeed } from '../seed.js';
import { mainIndex } from './main-index.js';

type CommandRecord = Extract<MainRecord, { kind: 'command' }>;

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  writeUint(b, 0, 4, v);
  return b;
}

function u64pair(a: number, b: number): Uint8Array {
  const out = new Uint8Array(16);
  writeUint(out, 0, 8, a);
  writeUint(out, 8, 8, b);
  return out;
}

/** A plausible command (right length for its number) with values worth trying. */
function newCommand(prng: Prng, seed: MainSeed): { command: number; payload: Uint8Array } {
  const block = mainIndex(seed).blocks[0]?.block.name ?? 'pc.ram';
  const name = latin1(block);
  switch (prng.pick([Command.Ping, Command.OpenReturnPath, Command.PostcopyAdvise, Command.PostcopyListen, Command.PostcopyRun, Command.PostcopyRamDiscard, Command.RecvBitmap, Command.SwitchoverStart, Command.EnableColo, Command.PostcopyResume])) {
    case Command.Ping:
      return { command: Command.Ping, payload: u32(prng.u32()) };
    case Command.OpenReturnPath:
      return { command: Command.OpenReturnPath, payload: new Uint8Array(0) };
    case Command.PostcopyAdvise:
      return { command: Command.PostcopyAdvise, payload: prng.chance(0.3) ? new Uint8Array(0) : u64pair(prng.pick([4096, 0x201000, 0, 0xfff]), prng.pick([4096, 512, 0, 65536])) };
    case Command.PostcopyListen:
      return { command: Command.PostcopyListen, payload: new Uint8Array(0) };
    case Command.PostcopyRun:
      return { command: Command.PostcopyRun, payload: new Uint8Array(0) };
    case Command.PostcopyRamDiscard: {
      const ranges = prng.range(0, 3);
      const p = new Uint8Array(3 + name.length + 16 * ranges);
      p[0] = 0;
      p[1] = name.length;
      p.set(name, 2);
      p[2 + name.length] = 0;
      for (let i = 0; i < ranges; i++) p.set(u64pair(prng.int(1 << 20) * 4096, prng.pick([4096, 0, 2 ** 40])), 3 + name.length + 16 * i);
      return { command: Command.PostcopyRamDiscard, payload: p };
    }
    case Command.RecvBitmap: {
      const p = new Uint8Array(1 + name.length);
      p[0] = name.length;
      p.set(name, 1);
      return { command: Command.RecvBitmap, payload: p };
    }
    case Command.EnableColo:
      return { command: Command.EnableColo, payload: new Uint8Array(0) };
    case Command.PostcopyResume:
      return { command: Command.PostcopyResume, payload: new Uint8Array(0) };
    default:
      return { command: Command.SwitchoverStart, payload: new Uint8Array(0) };
  }
}

function insertAt(seed: MainSeed, prng: Prng): number {
  const b = mainIndex(seed).boundaries;
  return b.length ? prng.pick(b).offset : seed.bytes.length;
}

function encodeCommand(command: number, payload: Uint8Array): Uint8Array {
  return encodeMainRecord({ kind: 'command', command, name: '', payload, args: { command: 'OPEN_RETURN_PATH' } });
}

/** The be16 length of a command disagrees with its payload. */
export const commandLength: Mutator = (seed, prng): Mutant | null => {
  if (seed.channel !== 'main') return null;
  const existing = mainIndex(seed).commands;
  let at: number;
  let bytes: Uint8Array;
  let old: number;
  let path: string;
  if (existing.length && prng.chance(0.6)) {
    const r = prng.pick(existing);
    at = r.offset;
    old = r.payload.length;
    bytes = seed.bytes;
    path = `command[${r.name} @${r.offset}].length`;
  } else {
    const c = newCommand(prng, seed);
    at = insertAt(seed, prng);
    old = c.payload.length;
    bytes = splice(seed.bytes, at, 0, encodeCommand(c.command, c.payload));
    path = `command[inserted ${c.command} @${at}].length`;
  }
  const v = Number(interestingUint(prng, 16, old));
  return { bytes: patchUint(bytes, at + 3, 2, v), mutation: { kind: 'command-length', path, old, new: v, offset: bytes === seed.bytes ? at + 3 : at } };
};

/** A command's number or payload changed, or a new command put where QEMU does not expect it. */
export const commandPayload: Mutator = (seed, prng): Mutant | null => {
  if (seed.channel !== 'main') return null;
  const existing = mainIndex(seed).commands;
  if (existing.length && prng.chance(0.5)) {
    const r: CommandRecord = prng.pick(existing);
    if (prng.chance(0.3) || r.payload.length === 0) {
      const v = prng.pick([0, 12, 0xffff, Command.Packaged, Command.PostcopyRun, Command.PostcopyListen].filter((c) => c !== r.command));
      return { bytes: patchUint(seed.bytes, r.offset + 1, 2, v), mutation: { kind: 'command-payload', path: `command[${r.name} @${r.offset}].command`, old: r.command, new: v, offset: r.offset + 1 } };
    }
    const i = prng.int(r.payload.length);
    const old = r.payload[i]!;
    const v = Number(interestingUint(prng, 8, old));
    return { bytes: patchUint(seed.bytes, r.offset + 5 + i, 1, v), mutation: { kind: 'command-payload', path: `command[${r.name} @${r.offset}].payload[${i}]`, old, new: v, offset: r.offset + 5 + i } };
  }
  const c = newCommand(prng, seed);
  const at = insertAt(seed, prng);
  return {
    bytes: splice(seed.bytes, at, 0, encodeCommand(c.command, c.payload)),
    mutation: { kind: 'command-payload', path: `command[inserted @${at}]`, old: null, new: `${c.command}:${Buffer.from(c.payload).toString('hex')}`, offset: at },
  };
};

/**
 * PACKAGED: change an existing one's length, or wrap the next records in a new one whose length
 * is off by a little (cutting a record) or by a lot (beyond the stream).
 */
export const packagedLength: Mutator = (seed, prng): Mutant | null => {
  if (seed.channel !== 'main') return null;
  const ix = mainIndex(seed);
  const packaged = ix.commands.filter((c) => c.args.command === 'PACKAGED');
  if (packaged.length && prng.chance(0.6)) {
    const r = prng.pick(packaged);
    const old = r.args.command === 'PACKAGED' ? r.args.length : 0;
    const v = Number(interestingUint(prng, 32, old));
    return { bytes: patchUint(seed.bytes, r.offset + 5, 4, v), mutation: { kind: 'packaged-length', path: `command[PACKAGED @${r.offset}].length`, old, new: v, offset: r.offset + 5 } };
  }
  const b = ix.boundaries;
  if (b.length < 2) return null;
  const i = prng.int(b.length - 1);
  const j = Math.min(b.length - 1, i + 1 + prng.int(4));
  const start = b[i]!.offset;
  const exact = b[j]!.offset - start;
  const len = Math.max(0, prng.pick([exact - 1, exact + 1, exact - 5, exact, exact + 4096, 0, 0xffffffff, 0x7fffffff]));
  const enc = encodeCommand(Command.Packaged, u32(len >>> 0));
  return {
    bytes: splice(seed.bytes, start, 0, enc),
    mutation: { kind: 'packaged-length', path: `command[inserted PACKAGED @${start} around ${j - i} records].length`, old: exact, new: toValue(BigInt(len >>> 0)), offset: start },
  };
};
