/**
 * The fuzz mutator and the codec campaign: mutants are deterministic and say what they changed,
 * every kind finds something to change in real seeds, a few thousand inputs through every decoder
 * end in records or a CodecError, and the minimiser shrinks while its predicate holds.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMainStream } from '@migwire/stream-codec';
import { main, MemoryOutput } from '../src/index.js';
import { runCodecRange } from '../src/fuzz/codec/campaign.js';
import { defaultSeedSpecs, prepareSeeds } from '../src/fuzz/codec/seeds.js';
import { minimise, mainPieces } from '../src/fuzz/minimise.js';
import { MUTATORS, mutate } from '../src/fuzz/mutate.js';
import { kindsFor, MUTATION_KINDS, type MutationKind } from '../src/fuzz/mutation.js';
import { sharedCaptureDirs } from '../src/fuzz/paths.js';
import { Prng } from '../src/fuzz/prng.js';
import { reduceSeed } from '../src/fuzz/reduce.js';
import { loadSeed, type Seed } from '../src/fuzz/seed.js';
import { FIXTURES } from './paths.js';

const PRECOPY = join(FIXTURES, '10.0-precopy-file');
const mainSeed = reduceSeed(await loadSeed(PRECOPY));

async function channelSeeds(): Promise<Seed[]> {
  const seeds: Seed[] = [mainSeed];
  const zstd = sharedCaptureDirs().find((d) => d.endsWith('10.0-c-multifd4-zstd'));
  const postcopy = sharedCaptureDirs().find((d) => d.endsWith('10.0-g-postcopy-preempt'));
  if (zstd) seeds.push(reduceSeed(await loadSeed(zstd, { channel: 'conn01.src2dst' })));
  if (postcopy) seeds.push(await loadSeed(postcopy, { channel: 'return-path' }));
  if (process.env['CI'] === 'true' && seeds.length < 3) throw new Error('shared captures missing');
  return seeds;
}

test('a reduced seed keeps every structure but few pages, and still decodes', async (t) => {
  const full = await loadSeed(PRECOPY);
  // The guest's firmware (each block's first MiB) stays, for QEMU to load it; our codec needs none.
  t.true(mainSeed.bytes.length < full.bytes.length / 20);
  t.true(reduceSeed(full, { firmware: false }).bytes.length < full.bytes.length / 50);
  t.is(decodeMainStream(mainSeed.bytes).error, undefined);
  const kinds = (s: Seed): Set<string> => new Set(s.records.map((r) => r.kind));
  t.deepEqual(kinds(mainSeed), kinds(full));
  t.true(mainSeed.records.some((r) => r.kind === 'device-state' && r.vmstate !== undefined), 'device sections carry VMState fields from the trailer');
  t.deepEqual(mainSeed.target, { machine: 'q35', memMiB: 32, qemu: '10.0', caps: {}, devices: [] });
});

test('mutants are deterministic from their seed number and say what they changed and where', (t) => {
  for (let n = 1; n <= 300; n++) {
    const a = mutate(mainSeed, n)!;
    const b = mutate(mainSeed, n)!;
    t.deepEqual(a.mutation, b.mutation);
    t.true(Buffer.from(a.bytes).equals(Buffer.from(b.bytes)));
    t.false(Buffer.from(a.bytes).equals(Buffer.from(mainSeed.bytes)), `seed ${n} (${a.mutation.kind}) changed something`);
    const m = a.mutation;
    t.true(typeof m.path === 'string' && m.path.length > 0);
    t.true(m.old !== m.new || m.kind === 'record-duplicate', `${m.kind} ${m.path}: old and new differ`);
    // Nothing before the recorded offset moved.
    const at = m.offset;
    t.true(Buffer.from(a.bytes.subarray(0, at)).equals(Buffer.from(mainSeed.bytes.subarray(0, at))), `seed ${n}: ${m.kind} touched bytes before offset ${at}`);
  }
});

test('every mutation kind finds something to change in a real seed of its channel', async (t) => {
  const seeds = await channelSeeds();
  const covered = new Set<MutationKind>();
  for (const seed of seeds) {
    for (const kind of kindsFor(seed.channel)) {
      for (let n = 0; n < 30; n++) {
        const m = MUTATORS[kind](seed, new Prng(n));
        if (!m) continue;
        t.is(m.mutation.kind, kind);
        t.true(m.mutation.offset >= 0 && m.mutation.offset <= seed.bytes.length, `${kind} offset inside the seed`);
        covered.add(kind);
        break;
      }
    }
  }
  const expected = seeds.length === 3 ? Object.keys(MUTATION_KINDS) : kindsFor('main');
  t.deepEqual([...covered].sort(), [...expected].sort());
});

test('structure-aware mutations are seen by the decoder where the manifest says', (t) => {
  // A RAM section's footer naming another section fails exactly at the mutated id; a device
  // section's is no footer at all to the decoder, which then looks further for one.
  let mismatches = 0;
  for (let n = 0; n < 60; n++) {
    const m = mutate(mainSeed, n, { kinds: ['footer-id'] })!;
    const { error } = decodeMainStream(m.bytes);
    t.truthy(error, m.mutation.path);
    if (error?.code === 'FOOTER_MISMATCH') {
      mismatches++;
      t.is(error.offset, m.mutation.offset);
    }
  }
  t.true(mismatches > 0);
  const v = mutate(mainSeed, 5, { kinds: ['vmstate-field'] })!;
  t.regex(v.mutation.path, /^device\[".+" inst \d+\]\./);
});

test('fuzz mutate writes N fixtures and a manifest; --seed S+i --count 1 rebuilds fixture i', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-fuzz-'));
  try {
    const o = new MemoryOutput();
    t.is(await main(['fuzz', 'mutate', PRECOPY, '--count', '12', '--seed', '40', '--reduce', '--out', join(dir, 'a')], o), 0);
    const manifest = JSON.parse(readFileSync(join(dir, 'a', 'manifest.json'), 'utf8')) as { fixtures: Array<{ file: string; seed: number; mutation: { kind: string; path: string; offset: number } }>; target: unknown; baseSeed: number };
    t.is(manifest.fixtures.length, 12);
    t.is(manifest.baseSeed, 40);
    t.truthy(manifest.target);
    t.is(readdirSync(join(dir, 'a')).filter((f) => f.endsWith('.bin')).length, 12);
    const f = manifest.fixtures[7]!;
    t.is(f.seed, 47);
    t.true(typeof f.mutation.offset === 'number' && f.mutation.path.length > 0);
    t.is(await main(['fuzz', 'mutate', PRECOPY, '--count', '1', '--seed', '47', '--reduce', '--out', join(dir, 'b')], new MemoryOutput()), 0);
    const again = readdirSync(join(dir, 'b')).find((x) => x.endsWith('.bin'))!;
    t.true(readFileSync(join(dir, 'a', f.file)).equals(readFileSync(join(dir, 'b', again))));
    // Only the kinds asked for.
    t.is(await main(['fuzz', 'mutate', PRECOPY, '--count', '5', '--kinds', 'ram-flags,truncate', '--out', join(dir, 'c'), '--reduce'], new MemoryOutput()), 0);
    const kinds = (JSON.parse(readFileSync(join(dir, 'c', 'manifest.json'), 'utf8')) as { fixtures: Array<{ mutation: { kind: string } }> }).fixtures.map((x) => x.mutation.kind);
    t.true(kinds.every((k) => k === 'ram-flags' || k === 'truncate'));
    t.is(await main(['fuzz', 'mutate', PRECOPY, '--kinds', 'no-such-kind', '--out', join(dir, 'd')], new MemoryOutput()), 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a few thousand mutants through every decoder end in records or a CodecError, and reset() works after errors', async (t) => {
  const seeds = await prepareSeeds(defaultSeedSpecs());
  // No time budget here (the machine is noisy): the campaign reports slow inputs, the test does not.
  const stats = runCodecRange(seeds, 0, 3000, { base: 77, slowMs: Number.POSITIVE_INFINITY });
  t.deepEqual(stats.findings, []);
  t.is(stats.inputs, 3000);
  const channels = new Set(seeds.map((s) => s.seed.channel));
  for (const c of channels) {
    const d = stats.decoders[c]!;
    t.true(d.inputs > 0 && d.decoded > 0 && d.inputs - d.decoded > 0, `${c}: some inputs decode, some fail`);
    t.true(Object.keys(d.errors).length >= 3, `${c}: several error codes`);
  }
  if (process.env['CI'] === 'true') t.deepEqual([...channels].sort(), ['main', 'multifd', 'return-path']);
  t.true(stats.resetChecks > 50);
  t.true(stats.decoders.main!.maxHeld <= seeds[0]!.maxHeld);
});

test('the minimiser removes sections while the outcome holds and keeps the one that matters', async (t) => {
  const m = mutate(mainSeed, 3, { kinds: ['version-id'] })!;
  const pieces = mainPieces(m.bytes, m.mutation.offset);
  t.true(pieces.length > 10);
  // Stand-in for QEMU: "crashes" while the mutated version id is still there.
  const marker = m.bytes.subarray(m.mutation.offset - 4, m.mutation.offset + 4);
  const crashes = async (b: Uint8Array): Promise<boolean> => Buffer.from(b).includes(Buffer.from(marker));
  const r = await minimise(m.bytes, pieces, crashes, 200);
  t.true(await crashes(r.bytes));
  t.true(r.bytes.length < m.bytes.length / 4, `${m.bytes.length} -> ${r.bytes.length}`);
  t.true(r.runs <= 200);
});

test('fuzz needs a subcommand, and qemu and codec take no PATH', async (t) => {
  t.is(await main(['fuzz'], new MemoryOutput()), 2);
  t.is(await main(['fuzz', 'codec', 'x'], new MemoryOutput()), 2);
  const help = new MemoryOutput();
  t.is(await main(['fuzz', '--help'], help), 0);
  t.regex(help.lines.join('\n'), /fuzz mutate[\s\S]*fuzz codec[\s\S]*fuzz qemu/);
  t.true(existsSync(PRECOPY));
});

// Found by installing the packages: an installed migwire has no fixtures, and `fuzz codec` with no
// usable seed failed with "Cannot read properties of undefined" after a worker died.
test('fuzz codec with no usable seed is a usage error naming the seeds, before any worker starts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-fuzz-noseed-'));
  const empty = join(dir, 'empty.bin');
  writeFileSync(empty, Buffer.alloc(0));
  const o = new MemoryOutput();
  t.is(await main(['fuzz', 'codec', '--seeds', empty, '--count', '5'], o), 2);
  t.is(o.errors.join('\n'), `migwire: no usable seeds among ${empty} (each must be a stream file or capture directory with a non-empty channel)`);
});

test('a codec campaign with no seed at all (an installed migwire has no fixtures) says where seeds come from', async (t) => {
  const { runCodecCampaign } = await import('../src/fuzz/codec/supervisor.js');
  await t.throwsAsync(runCodecCampaign({ count: 1, specs: [] }), { message: /^no seeds: the bundled fixtures are not here .*give --seeds PATH/ });
});
