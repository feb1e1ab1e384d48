/**
 * Fixture generator: real QEMU migrations of our guest (guest.ts) written to files, each verified
 * end to end (see roundtrip.ts), stored in the shared capture format's file-row style:
 *
 *   <out>/<name>/stream.bin       the migration stream exactly as QEMU wrote it
 *   <out>/<name>/index.json       format qemu-migration-capture/file/1
 *   <out>/<name>/meta.json        versions, machine, caps, params, timeline, result, verification
 *   <out>/<name>/qmp-src.jsonl    QMP transcripts {"t","dir","msg"}
 *   <out>/<name>/qmp-dst.jsonl
 *   <out>/manifest.json           every fixture, its size and whether it should be committed
 *   <out>/README.md               descriptions, regenerate command, results table
 *   <out>/.gitignore              the fixtures that must not be committed (commit: false)
 *
 * Usage: node test/dist/harness/generate-fixtures.js [--only NAME[,NAME...]] [--out DIR] [--list]
 *
 * Streams are real and therefore not byte-reproducible (counters, round counts differ per run).
 */

import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, openSync, readSync, closeSync, mkdtempSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MiB, PAGE_SIZE } from './guest.js';
import { qemuBinary, type HoldControl, type QemuVersion, type MigrationResult } from './qemu.js';
import { Clock } from './qmp.js';
import { runFileRoundTrip, type RoundTripResult } from './roundtrip.js';

export interface FixtureConfig {
  name: string;
  description: string;
  version: QemuVersion;
  machine?: string;
  kind: 'file' | 'exec';
  caps: Record<string, boolean>;
  params: Record<string, unknown>;
  hold: HoldControl;
  pollMs: number;
  memMiB: number;
  startMiB: number;
  endMiB: number;
  /** Whether the fixture belongs in git. */
  commit: boolean;
  /** Extra checks on the result; returns failure messages. */
  check?: (r: RoundTripResult) => string[];
}

const HOLD = (syncs: number): HoldControl => ({
  syncs,
  params: { 'downtime-limit': 1, 'max-bandwidth': 32 * MiB },
  release: { 'downtime-limit': 2000, 'max-bandwidth': 128 * MiB },
});

/** Committed fixtures: 32 MiB guest, pattern region 1..5 MiB (1024 pages). */
const SMALL = { memMiB: 32, startMiB: 1, endMiB: 5 } as const;

function ramStat(r: MigrationResult | null, key: string): number | null {
  const v = r?.src_final?.ram?.[key];
  return typeof v === 'number' ? v : null;
}

export const FIXTURES: FixtureConfig[] = [
  {
    name: '10.0-precopy-file',
    description:
      'QEMU 10.0 precopy to a `file:` URI with default capabilities and parameters. Without multifd, QEMU ' +
      'always detects zero pages on the main thread (zero-page-detection only matters with multifd), so ' +
      'zero pages are ZERO records and the rest PAGE records. Several RAM rounds (held until dirty-sync-count 2).',
    version: '10.0', kind: 'file', caps: {}, params: {}, hold: HOLD(2), pollMs: 20, ...SMALL, commit: true,
  },
  {
    name: '10.0-xbzrle-exec',
    description:
      'QEMU 10.0 precopy with the xbzrle capability over `exec:cat > PATH`; held until dirty-sync-count 4 ' +
      'so later rounds resend dirtied pages as XBZRLE records (deltas against the cached copy).',
    version: '10.0', kind: 'exec', caps: { xbzrle: true }, params: {}, hold: HOLD(4), pollMs: 20, ...SMALL, commit: true,
    check: (r) => {
      const x = r.save?.src_final?.['xbzrle-cache'] as { pages?: number } | undefined;
      return x && (x.pages ?? 0) > 0 ? [] : [`no XBZRLE pages sent (xbzrle-cache: ${JSON.stringify(x)})`];
    },
  },
  {
    name: '10.0-legacy-zero-file',
    description:
      'QEMU 10.0 precopy to a `file:` URI with zero-page-detection `legacy`: zero pages are ZERO records ' +
      '(flag 0x02 + fill byte) on the main stream. Without multifd this is also what the default does, so ' +
      'the record mix matches 10.0-precopy-file (the parameter is not written into the stream).',
    version: '10.0', kind: 'file', caps: {}, params: { 'zero-page-detection': 'legacy' }, hold: HOLD(2), pollMs: 20,
    ...SMALL, commit: true,
    check: (r) => ((ramStat(r.save, 'duplicate') ?? 0) > 0 ? [] : ['no zero pages reported (ram.duplicate = 0)']),
  },
  {
    name: '7.2-precopy-exec',
    description:
      'QEMU 7.2 precopy (machine pc-q35-7.2) over `exec:cat > PATH`, loaded with `exec:cat PATH`; 7.2 ' +
      'sends zero pages as ZERO records on main.',
    version: '7.2', machine: 'pc-q35-7.2', kind: 'exec', caps: {}, params: {}, hold: HOLD(2), pollMs: 20, ...SMALL,
    commit: true,
  },
  {
    name: '10.0-mapped-ram-file',
    description:
      'QEMU 10.0 with the mapped-ram capability to a `file:` URI: a sparse, RAM-sized file where each page ' +
      'lives at a fixed offset (per-block header, dirty bitmap, pages). Not committed (sparse; size > RAM).',
    version: '10.0', kind: 'file', caps: { 'mapped-ram': true }, params: {}, hold: HOLD(2), pollMs: 20, ...SMALL,
    commit: false,
    check: (r) =>
      r.stream && r.stream.allocated_bytes < r.stream.size ? [] : ['mapped-ram stream is not sparse'],
  },
];

// ---------------------------------------------------------------------------------------------

interface ManifestEntry {
  name: string;
  dir: string;
  description: string;
  qemu: string;
  qemu_version_string: string;
  machine: string;
  transport: 'file' | 'exec';
  caps: Record<string, boolean>;
  params: Record<string, unknown>;
  mem_mib: number;
  region_mib: [number, number];
  size: number;
  allocated_bytes: number;
  dir_bytes: number;
  sha256: string;
  commit: boolean;
  generated_unix: number;
  save_total_time_ms: number | null;
  save_wall_ms: number | null;
  load_wall_ms: number | null;
  downtime_ms: number | null;
  dirty_sync_count: number | null;
  generation_ms: number;
  verification: 'pass' | 'fail';
}

interface Manifest {
  format: 'migwire-fixtures-manifest/1';
  regenerate: string;
  fixtures: ManifestEntry[];
}

const REGEN = 'node test/dist/harness/generate-fixtures.js [--only NAME] [--out DIR]';

function sha256File(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => res(h.digest('hex')))
      .on('error', rej);
  });
}

function headHex(path: string, n = 64): string {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got).toString('hex');
  } finally {
    closeSync(fd);
  }
}

/** Replace the staging path in URIs so the committed files do not name a temp folder. */
function relUri(uri: string, absPath: string): string {
  return uri.split(absPath).join('stream.bin');
}

async function generateOne(cfg: FixtureConfig, outDir: string): Promise<{ entry: ManifestEntry | null; failures: string[] }> {
  const bin = qemuBinary(cfg.version);
  if (!bin) return { entry: null, failures: [`QEMU ${cfg.version} is not installed (run .ci/install-qemu.sh)`] };
  const started = performance.now();
  const finalDir = join(outDir, cfg.name);
  const staging = join(outDir, `.${cfg.name}.staging`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'mwfix-'));
  const streamPath = join(staging, 'stream.bin');
  const clock = new Clock();
  try {
    const r = await runFileRoundTrip({
      version: cfg.version,
      ...(cfg.machine ? { machine: cfg.machine } : {}),
      memMiB: cfg.memMiB, startMiB: cfg.startMiB, endMiB: cfg.endMiB,
      caps: cfg.caps, params: cfg.params, kind: cfg.kind, streamPath, workDir: work,
      transcriptDir: staging, hold: cfg.hold, pollMs: cfg.pollMs, clock,
    });
    const failures = [...r.verification.failures, ...(r.pass && cfg.check ? cfg.check(r) : [])];
    if (failures.length > 0 || !r.stream || !r.save || !r.load || !r.src || !r.dst) {
      return { entry: null, failures: failures.length ? failures : ['incomplete result'] };
    }
    chmodSync(streamPath, 0o644); // QEMU creates file: targets 0600
    const st = statSync(streamPath);
    const digest = await sha256File(streamPath);
    const uriWritten = relUri(r.stream.uri_written, streamPath);
    const uriRead = relUri(r.stream.uri_read, streamPath);
    const index = {
      format: 'qemu-migration-capture/file/1',
      transport: cfg.kind,
      note: 'paths in uri_written / uri_read are relative to this directory (the generator wrote to a staging path)',
      files: [
        {
          file: 'stream.bin',
          size: st.size,
          allocated_bytes: st.blocks * 512,
          sha256: digest,
          head_hex: headHex(streamPath),
          uri_written: uriWritten,
          uri_read: uriRead,
        },
      ],
      connections: [],
    };
    const strip = (m: MigrationResult): MigrationResult => ({
      ...m,
      uri: m.uri && relUri(m.uri, streamPath),
      incoming_uri: m.incoming_uri && relUri(m.incoming_uri, streamPath),
      setup: m.setup.map((c) =>
        typeof c.arguments.uri === 'string' ? { ...c, arguments: { ...c.arguments, uri: relUri(c.arguments.uri, streamPath) } } : c,
      ),
    });
    const save = strip(r.save);
    const load = strip(r.load);
    const timeline = [...save.timeline, ...load.timeline]
      .map((e) => (typeof e.uri === 'string' ? { ...e, uri: relUri(e.uri, streamPath) } : e))
      .sort((a, b) => a.t - b.t);
    const generationMs = Math.round(performance.now() - started);
    const meta = {
      name: cfg.name,
      description: cfg.description,
      format: 'qemu-migration-capture/meta/1',
      created_unix: clock.zeroUnix,
      clock: "timeline 't' values and QMP transcript times are seconds since clock zero (created_unix)",
      host: { kernel: release(), node: process.version },
      transport: cfg.kind,
      machine: r.src.machine,
      accel: 'tcg',
      mem: `${cfg.memMiB}M`,
      workload: {
        region_start: cfg.startMiB * MiB,
        region_size: (cfg.endMiB - cfg.startMiB) * MiB,
        page_size: PAGE_SIZE,
        description:
          "first byte of each 4 KiB page incremented in ascending order forever; 'B' on serial per pass (test/harness/guest.ts)",
        boot_sector_sha256: r.boot_sector_sha256,
      },
      caps: cfg.caps,
      params: cfg.params,
      src_params: {},
      dst_params: {},
      tls: false,
      driver: {
        hold_syncs: cfg.hold.syncs,
        hold_params_src: cfg.hold.params,
        release: { 'migrate-set-parameters': cfg.hold.release },
        poll_ms: cfg.pollMs,
        note: 'the source runs with hold_params_src until ram dirty-sync-count >= hold_syncs, then the release parameters are set; the destination loads the file afterwards',
        'dst_started_with_-S': true,
      },
      qemu: {
        src: { ...r.src, argv: r.src.argv },
        dst: { ...r.dst, argv: r.dst.argv },
      },
      setup: [...save.setup, ...load.setup],
      timeline,
      result: {
        status: 'completed',
        reason: null,
        src_status: save.src_status,
        dst_status: load.dst_status,
        total_time_ms: save.total_time_ms,
        downtime_ms: save.downtime_ms,
        setup_time_ms: save.setup_time_ms,
        dirty_sync_count: save.dirty_sync_count,
        postcopy_requests: ramStat(r.save, 'postcopy-requests') ?? 0,
        ram_transferred: save.ram_transferred,
        save_wall_ms: save.wall_ms,
        load_wall_ms: load.wall_ms,
        markers_before_migrate: save.markers_before,
      },
      src_query_migrate_final: save.src_final,
      dst_query_migrate_final: load.dst_final,
      verification: r.verification,
      generation_ms: generationMs,
    };
    writeFileSync(join(staging, 'index.json'), JSON.stringify(index, null, 2) + '\n');
    writeFileSync(join(staging, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    if (cfg.commit) {
      // Committed fixtures travel gzipped (mostly zero pages: ~40x smaller); migwire reads .gz directly.
      writeFileSync(join(staging, 'stream.bin.gz'), gzipSync(readFileSync(streamPath), { level: 9 }));
    }
    rmSync(finalDir, { recursive: true, force: true });
    renameSync(staging, finalDir);
    const dirBytes = ['stream.bin.gz', 'index.json', 'meta.json', 'qmp-src.jsonl', 'qmp-dst.jsonl']
      .map((f) => join(finalDir, f))
      .filter((p) => existsSync(p))
      .reduce((n, p) => n + statSync(p).size, 0);
    const entry: ManifestEntry = {
      name: cfg.name,
      dir: cfg.name,
      description: cfg.description,
      qemu: cfg.version,
      qemu_version_string: r.src.version_string,
      machine: r.src.machine,
      transport: cfg.kind,
      caps: cfg.caps,
      params: cfg.params,
      mem_mib: cfg.memMiB,
      region_mib: [cfg.startMiB, cfg.endMiB],
      size: st.size,
      allocated_bytes: st.blocks * 512,
      dir_bytes: dirBytes,
      sha256: digest,
      commit: cfg.commit,
      generated_unix: clock.zeroUnix,
      save_total_time_ms: save.total_time_ms,
      save_wall_ms: save.wall_ms,
      load_wall_ms: load.wall_ms,
      downtime_ms: save.downtime_ms,
      dirty_sync_count: save.dirty_sync_count,
      generation_ms: generationMs,
      verification: 'pass',
    };
    return { entry, failures: [] };
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}

function readManifest(outDir: string): Manifest {
  const p = join(outDir, 'manifest.json');
  if (existsSync(p)) {
    try {
      const m = JSON.parse(readFileSync(p, 'utf8')) as Manifest;
      if (Array.isArray(m.fixtures)) return m;
    } catch {
      /* rewrite */
    }
  }
  return { format: 'migwire-fixtures-manifest/1', regenerate: REGEN, fixtures: [] };
}

const fmtBytes = (n: number): string => n.toLocaleString('en-US');

function renderReadme(m: Manifest): string {
  const rows = m.fixtures.map((f) => {
    const size = f.allocated_bytes < f.size ? `${fmtBytes(f.size)} (sparse, ${fmtBytes(f.allocated_bytes)} allocated)` : fmtBytes(f.size);
    return `| \`${f.name}\` | ${f.qemu_version_string.replace('QEMU emulator version ', '')} | ${f.machine} | ${size} | ${f.save_total_time_ms ?? '?'} ms (save wall ${f.save_wall_ms ?? '?'} ms, load wall ${f.load_wall_ms ?? '?'} ms) | ${f.downtime_ms ?? '?'} ms | ${f.dirty_sync_count ?? '?'} | ${f.verification} | ${f.commit ? 'yes' : 'no'} |`;
  });
  const list = m.fixtures.map((f) => `- **\`${f.name}\`**: ${f.description}`);
  return `# Fixtures: real QEMU migration streams

Generated by \`test/harness/generate-fixtures.ts\` from real QEMU migrations of our own guest
(\`test/harness/guest.ts\`: a hand-assembled boot sector that increments the first byte of every
4 KiB page of a region forever and prints \`B\` on COM1 after each pass). Guest: q35, TCG,
\`-m 32M\`, pattern region 1..5 MiB (1024 pages); the rest of RAM is whatever SeaBIOS left.

Each fixture directory follows the shared capture format's file rows:

| file | content |
|---|---|
| \`stream.bin\` | the migration stream exactly as QEMU wrote it |
| \`index.json\` | \`format: "qemu-migration-capture/file/1"\`, transport (\`file\`/\`exec\`), \`files[]\` with size, allocated_bytes, sha256, head_hex (first 64 bytes), uri_written, uri_read (paths relative to the fixture directory) |
| \`meta.json\` | QEMU versions and argv, machine, caps, params, non-convergence control, QMP setup calls, timeline, result (status, total/down/setup time, dirty-sync-count, bytes), final \`query-migrate\` of both sides, verification |
| \`qmp-src.jsonl\`, \`qmp-dst.jsonl\` | QMP transcripts, one \`{"t","dir","msg"}\` per line |

\`manifest.json\` lists every fixture with its size and whether it is committed (\`commit\`);
\`.gitignore\` here excludes the others.

Every fixture was verified when generated: the source ended \`completed\`; a fresh destination
(\`-incoming defer -S\`) loaded the file and ended \`completed\`, paused; its whole RAM
(\`pmemsave\`) was byte-identical to the stopped source's; the pattern verified on both (every
page's first byte equal, or equal except one drop by exactly one where the loop was; the rest of
each page zero); after \`cont\` the destination printed new markers and the pattern verified again.

Observed in these streams (QEMU 10.0.2 / 7.2.22, no multifd): zero pages are \`ZERO\` records on
the main stream in every configuration (without multifd, zero-page-detection is not consulted);
QEMU 10.0 writes a \`COMMAND\` record \`SWITCHOVER_START\` (command 11, length 0) before the final RAM
section even without switchover-ack, 7.2 does not; device state follows as \`SECTION_FULL\`
records (first: \`timer\`), then \`EOF\` and the \`VMDESCRIPTION\` JSON.

Streams are real recordings and **not byte-reproducible**: counters, round counts and sizes
change from run to run. Each fixture is self-consistent (hashes and sizes in its own files).

## Fixtures

${list.join('\n')}

## Regenerate

\`\`\`sh
sudo .ci/install-qemu.sh          # QEMU 10.0 (bookworm-backports) + 7.2 (unpacked to /var/cache/migwire/qemu-7.2)
npx tsc -b                        # compiles test/ into test/dist/
${REGEN}
\`\`\`

\`--only\` takes a name (or a comma-separated list); \`--list\` prints the configurations.

## Results (last generation)

Time is QEMU's \`total-time\` for the save (migrate command to completion on the source).
Downtime is QEMU's \`downtime\` (source stopped to completion).

| configuration | QEMU | machine | bytes | time | downtime | dirty syncs | verification | committed |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
}

function writeIndexFiles(outDir: string, m: Manifest): void {
  const order = new Map(FIXTURES.map((f, i) => [f.name, i]));
  m.fixtures.sort((a, b) => (order.get(a.name) ?? 99) - (order.get(b.name) ?? 99));
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
  writeFileSync(join(outDir, 'README.md'), renderReadme(m));
  const ignored = [...m.fixtures.filter((f) => !f.commit).map((f) => `/${f.dir}/`), '# committed fixtures are kept as stream.bin.gz', '/*/stream.bin'];
  writeFileSync(
    join(outDir, '.gitignore'),
    `# Generated by test/harness/generate-fixtures.ts: fixtures with commit: false in manifest.json\n${ignored.join('\n')}\n/.*.staging/\n`,
  );
}

function parseArgs(argv: string[]): { only: string[] | null; out: string; list: boolean } {
  const here = dirname(fileURLToPath(import.meta.url)); // test/dist/harness
  let out = resolve(here, '../../../fixtures');
  let only: string[] | null = null;
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const val = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--only' || a.startsWith('--only=')) only = [...(only ?? []), ...val().split(',').filter(Boolean)];
    else if (a === '--out' || a.startsWith('--out=')) out = resolve(val());
    else if (a === '--list') list = true;
    else if (a === '--help' || a === '-h') {
      console.log(`usage: ${REGEN} [--list]`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return { only, out, list };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const f of FIXTURES) console.log(`${f.name}\tQEMU ${f.version}\t${f.kind}\tcommit=${f.commit}`);
    return 0;
  }
  const selected = args.only ? FIXTURES.filter((f) => args.only?.includes(f.name)) : FIXTURES;
  const unknown = (args.only ?? []).filter((n) => !FIXTURES.some((f) => f.name === n));
  if (unknown.length > 0) {
    console.error(`unknown fixture(s): ${unknown.join(', ')}; known: ${FIXTURES.map((f) => f.name).join(', ')}`);
    return 2;
  }
  mkdirSync(args.out, { recursive: true });
  const manifest = readManifest(args.out);
  // Drop manifest entries whose directory is gone.
  manifest.fixtures = manifest.fixtures.filter((e) => existsSync(join(args.out, e.dir, 'stream.bin')) || existsSync(join(args.out, e.dir, 'stream.bin.gz')));
  let failed = 0;
  for (const cfg of selected) {
    const t0 = performance.now();
    process.stdout.write(`${cfg.name} ... `);
    let res: { entry: ManifestEntry | null; failures: string[] };
    try {
      res = await generateOne(cfg, args.out);
    } catch (e) {
      res = { entry: null, failures: [String(e instanceof Error ? e.stack : e)] };
    }
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    if (res.entry) {
      manifest.fixtures = manifest.fixtures.filter((e) => e.name !== cfg.name);
      manifest.fixtures.push(res.entry);
      writeIndexFiles(args.out, manifest);
      const e = res.entry;
      console.log(
        `ok in ${secs} s: ${fmtBytes(e.size)} bytes${e.allocated_bytes < e.size ? ` (${fmtBytes(e.allocated_bytes)} allocated)` : ''}, ` +
          `save ${e.save_total_time_ms ?? '?'} ms, downtime ${e.downtime_ms ?? '?'} ms, ${e.dirty_sync_count ?? '?'} syncs`,
      );
    } else {
      failed++;
      console.log(`FAILED in ${secs} s`);
      for (const f of res.failures) console.log(`  - ${f}`);
    }
  }
  writeIndexFiles(args.out, manifest);
  return failed === 0 ? 0 : 1;
}

// Run only when executed directly (the test may import FIXTURES).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 2;
    },
  );
}
