/**
 * A seeded generator of hostile capture directories, after what fuzzing the CLI found: index.json
 * with nulls, wrong types, bad digests and path-like file names; listed files missing, or a link
 * to nothing, a looping link or a directory in their place. Each variant is applied to a scratch
 * copy of a real fixture and says what the user must be told: the error code, the file named,
 * and the field or fact the message must mention.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaptureErrorCode } from '../src/index.js';
import { FIXTURES, scratch } from './paths.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Key = string | number;

export interface Variant {
  /** What was done (test messages, reproduction). */
  what: string;
  code: CaptureErrorCode;
  /** The file the error must name, relative to the capture directory. */
  file: string;
  /** What the message must mention besides the file: the JSON path of the field, or the fact. */
  mentions: string;
  /** Make a scratch copy of the fixture and damage it; returns the directory. */
  make(): string;
}

export type VariantClass = 'nulls' | 'wrong types' | 'bad digests' | 'path-like names' | 'missing listed files' | 'links and directories';

/** Deterministic numbers in [0, 1) (mulberry32): one seed, one list of variants. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** TCP recordings of two recorder generations (older without role/status), and a file migration. */
const TCP_FIXTURES = ['10.0-c-multifd4-zstd', '10.0-postcopy-preempt'];
const FILE_FIXTURE = '10.0-precopy-file';
const DIRECTIONS = ['src2dst', 'dst2src'] as const;

/** "connections[0].directions.src2dst.file": how the schema's messages name a field. */
export const jsonPath = (keys: readonly Key[]): string => keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');

/** Digests gone wrong, made from the row's own (so only the form is wrong, as the fuzzer found). */
const BAD_DIGESTS: Array<(own: string) => Json> = [(d) => d.toUpperCase(), (d) => d.slice(1), (d) => `${d}0`, (d) => `g${d.slice(1)}`, () => '', (d) => ` ${d.slice(1)}`, () => 5, () => null];
const PATH_LIKE = ['sub/x', '../../../../etc/passwd', '/etc/passwd', '.', '..', '', 'a\\b', 'x\0y'];
const BAD_SIZES: Json[] = ['abc', -1, 1.5, '12', 2 ** 53, true, {}, null];
const NOT_OBJECTS: Json[] = [null, 5, 'x', [], true];

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function fixtureIndex(name: string): { [key: string]: Json } {
  return JSON.parse(readFileSync(join(FIXTURES, name, 'index.json'), 'utf8')) as { [key: string]: Json };
}

/** A scratch copy of `fixture` (index.json included). */
function copy(fixture: string): string {
  const dir = join(scratch('mw-hostile-ix-'), fixture);
  cpSync(join(FIXTURES, fixture), dir, { recursive: true });
  return dir;
}

/** A new value for a field: given, computed from the field's own, or undefined to delete it. */
type NewValue = Json | undefined | ((own: string) => Json);

/** `index` with `keys` set to `value`. */
function edited(index: { [key: string]: Json }, keys: readonly Key[], value: NewValue): Json {
  const out = structuredClone(index) as Json;
  let o = out as Record<Key, Json>;
  for (const k of keys.slice(0, -1)) o = o[k] as unknown as Record<Key, Json>;
  const last = keys.at(-1)!;
  if (value === undefined) delete o[last];
  else o[last] = typeof value === 'function' ? value(String(o[last])) : value;
  return out;
}

const valueAt = (doc: Json, keys: readonly Key[]): Json => keys.reduce((o, k) => (o as unknown as Record<Key, Json>)[k]!, doc);

/** A variant that writes a damaged index.json: INDEX_INVALID naming index.json and the field at `at`. */
function indexVariant(fixture: string, keys: readonly Key[], value: NewValue, at: readonly Key[] = keys): Variant {
  const shown = value === undefined ? 'deleted' : JSON.stringify(valueAt(edited(fixtureIndex(fixture), keys, value), keys));
  return {
    what: `${fixture}: index.json ${jsonPath(keys)} = ${shown}`,
    code: 'INDEX_INVALID',
    file: 'index.json',
    mentions: `${jsonPath(at)}: expected`,
    make: () => {
      const dir = copy(fixture);
      writeFileSync(join(dir, 'index.json'), JSON.stringify(edited(fixtureIndex(fixture), keys, value)));
      return dir;
    },
  };
}

/** A connection and direction of a TCP fixture, at random. */
function someRow(r: () => number): { fixture: string; conn: number; dir: (typeof DIRECTIONS)[number]; keys: Key[] } {
  const fixture = pick(r, TCP_FIXTURES);
  const conn = Math.floor(r() * (fixtureIndex(fixture)['connections'] as Json[]).length);
  const dir = pick(r, DIRECTIONS);
  return { fixture, conn, dir, keys: ['connections', conn, 'directions', dir] };
}

const connFile = (conn: number, dir: string): string => `conn${String(conn).padStart(2, '0')}.${dir}.bin`;

/** A variant that changes the channel file behind a listed row. */
function fileVariant(fixture: string, name: string, what: string, code: CaptureErrorCode, named: string, mentions: string, damage: (path: string) => void): Variant {
  return {
    what: `${fixture}: ${name} ${what}`,
    code,
    file: named,
    mentions,
    make: () => {
      const dir = copy(fixture);
      rmSync(join(dir, `${name}.gz`));
      damage(join(dir, `${name}.gz`));
      return dir;
    },
  };
}

const GENERATORS: Record<VariantClass, (r: () => number) => Variant> = {
  nulls: (r) => {
    const { fixture, keys } = someRow(r);
    const tcp: Key[][] = [['connections'], keys.slice(0, 2), keys.slice(0, 3), keys, [...keys, 'file'], [...keys, 'file_size'], [...keys, 'sha256'], ['format'], ['transport'], [...keys.slice(0, 2), 'id']];
    if (r() < 0.25) return indexVariant(FILE_FIXTURE, pick(r, [['files'], ['files', 0], ['files', 0, 'file'], ['files', 0, 'size'], ['files', 0, 'sha256']]), null);
    return indexVariant(fixture, pick(r, tcp), null);
  },
  'wrong types': (r) => {
    const { fixture, keys } = someRow(r);
    const conn = keys.slice(0, 2);
    const choices: Array<() => Variant> = [
      () => indexVariant(fixture, conn, pick(r, NOT_OBJECTS.filter((v) => v !== null))),
      () => indexVariant(fixture, [...conn, 'directions'], pick(r, NOT_OBJECTS.filter((v) => v !== null))),
      () => indexVariant(fixture, keys, pick(r, NOT_OBJECTS.filter((v) => v !== null))),
      () => indexVariant(fixture, [...keys, 'file_size'], pick(r, BAD_SIZES)),
      () => indexVariant(fixture, [...keys, 'write_error'], pick(r, [5, true, {}, []])),
      () => indexVariant(fixture, [...conn, 'id'], pick(r, [-1, '0', 1.5, true, null])),
      () => indexVariant(fixture, [...conn, 'accepted_at'], pick(r, ['x', true, {}, []])),
      () => indexVariant(fixture, ['connections'], pick(r, [{}, 'x', 5])),
      () => indexVariant(fixture, ['format'], pick(r, [5, '', 'qemu-migration-capture/tcp-proxy/2'])),
      () => indexVariant(fixture, ['format'], undefined),
      () => indexVariant(fixture, [...keys, 'file'], undefined),
      () => indexVariant(fixture, [...conn, 'directions', 'sideways'], {}),
      () => {
        const last = (fixtureIndex(fixture)['connections'] as Json[]).length - 1;
        return indexVariant(fixture, ['connections', last, 'id'], 0);
      },
      () => indexVariant(FILE_FIXTURE, ['files'], pick(r, [5, 'x', {}])),
      () => indexVariant(FILE_FIXTURE, ['files', 0], pick(r, [5, 'x', []])),
      () => indexVariant(FILE_FIXTURE, ['files', 0, 'size'], pick(r, BAD_SIZES)),
      () => indexVariant(FILE_FIXTURE, ['files'], undefined),
    ];
    return pick(r, choices)();
  },
  'bad digests': (r) => {
    if (r() < 0.25) return indexVariant(FILE_FIXTURE, ['files', 0, 'sha256'], pick(r, BAD_DIGESTS));
    const { fixture, keys } = someRow(r);
    return indexVariant(fixture, [...keys, 'sha256'], pick(r, BAD_DIGESTS));
  },
  'path-like names': (r) => {
    const { fixture, conn, dir, keys } = someRow(r);
    const own = connFile(conn, dir);
    if (r() < 0.25) return indexVariant(FILE_FIXTURE, ['files', 0, 'file'], pick(r, [...PATH_LIKE, 'stream.bin.gz', 'x.bin', 'stream.bin/']));
    return indexVariant(fixture, [...keys, 'file'], pick(r, [...PATH_LIKE, `${own}.gz`, 'x.bin.gz', connFile(conn + 1, dir), `sub/${own}`, `./${own}`]));
  },
  'missing listed files': (r) => {
    if (r() < 0.25) return fileVariant(FILE_FIXTURE, 'stream.bin', 'removed', 'LISTED_FILE_MISSING', 'stream.bin', 'files[0].file', () => {});
    const { fixture, conn, dir, keys } = someRow(r);
    return fileVariant(fixture, connFile(conn, dir), 'removed', 'LISTED_FILE_MISSING', connFile(conn, dir), jsonPath([...keys, 'file']), () => {});
  },
  'links and directories': (r) => {
    const { fixture, conn, dir } = someRow(r);
    const [file, name] = r() < 0.25 ? [FILE_FIXTURE, 'stream.bin'] : [fixture, connFile(conn, dir)];
    const gz = `${name}.gz`;
    return pick(r, [
      () => fileVariant(file, name, 'replaced by a link to nothing', 'NOT_A_FILE', gz, 'symbolic link', (p) => symlinkSync('/nonexistent/capture-file', p)),
      () => fileVariant(file, name, 'replaced by a link to itself', 'NOT_A_FILE', gz, 'ELOOP', (p) => symlinkSync(gz, p)),
      () => fileVariant(file, name, 'replaced by a directory', 'NOT_A_FILE', gz, 'is a directory', (p) => mkdirSync(p)),
    ])();
  },
};

/** `count` variants of one class, the same for the same seed. */
export function hostileVariants(kind: VariantClass, seed: number, count: number): Variant[] {
  const r = rng(seed ^ [...kind].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 0x01000193), 0x811c9dc5));
  return Array.from({ length: count }, () => GENERATORS[kind](r));
}

export const VARIANT_CLASSES = Object.keys(GENERATORS) as VariantClass[];
