/**
 * Interop: `migwire replay` into real QEMU. Each replay goes into a fresh destination started with
 * `-incoming defer` (paused, except for postcopy) and set up as the recording's destination was:
 * the shared captures (10.0 multifd zstd/zlib, 7.2 multifd zstd into 7.2, 10.0 postcopy-preempt at
 * recorded timing) and recordings made here through RecordingProxy (precopy, multifd 4 none,
 * xbzrle, switchover-ack with the return path, TLS + multifd 4 terminated by the proxy and replayed
 * over new TLS sessions (credentials made by replayIntoFreshQemu, the recording's, and plaintext on
 * request), postcopy). Each must reach `completed` with the replayed
 * destination's RAM identical (sha256 of pmemsave) to the original destination's at switchover;
 * for postcopy the guest pattern must verify after the guest runs. Doctored captures (a byte flipped
 * in a device section, a truncated main) must give a report with QEMU's error and the offsets sent
 * on each channel.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientTlsOptions, generateTlsCredentials, qemuTlsObjectArgs, RecordingProxy, serverTlsOptions, writeQemuTlsDir, type TlsCredentials } from '@migwire/channel-manager';
import { decodeCapture, openCapture } from '@migwire/capture';
import { switchoverAckMode } from '@migwire/stream-codec';
import { destinationSettings, main, MemoryOutput, prepareDestination, replayCapture, replayIntoFreshQemu, runExtract, type ReplayReport, type ReplayTiming } from 'migwire';
import { makeBootDisk, MiB } from './harness/guest.js';
import { pmemsaveAll, pmemsaveRegion, verifyPattern } from './harness/memory.js';
import { DEFAULT_HOLD, launchVm, qemuBinary, requireQemu, runMigration, type HoldControl, type QemuVersion, type Vm } from './harness/qemu.js';

const MEM = 128;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let root = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(root, 'pnpm-workspace.yaml'))) root = dirname(root);
const SHARED = process.env['MIGWIRE_SHARED_CAPTURES'] ?? resolve(root, '..', 'shared', 'captures');
const haveShared = existsSync(SHARED) || process.env['CI'] === 'true';

interface ReplayInto {
  version: QemuVersion;
  machine?: string;
  caps?: Record<string, boolean>;
  params?: Record<string, unknown>;
  timing?: ReplayTiming;
  /** Postcopy: the destination runs (its faults are what postcopy serves). */
  running?: boolean;
  /** QEMU >= 9.1: stay alive after a failed load so QMP shows the error. */
  exitOnError?: boolean;
  /** Run through the CLI instead of the library (report from --json). */
  cli?: boolean;
  /** x509 TLS toward the destination: the folder (QEMU's tls-creds-x509 object) and the credentials. */
  tls?: { dir: string; creds: TlsCredentials };
  /** --out DIR (CLI). */
  out?: string;
}

/**
 * A fresh destination with a second QMP monitor for migwire (the harness holds the first), set
 * up, then the replay with --qmp. The caller stops the VM.
 */
async function replayInto(capture: string, o: ReplayInto): Promise<{ report: ReplayReport; dst: Vm; text: string }> {
  const qmpDir = mkdtempSync(join(tmpdir(), 'mwr-'));
  const qmpSock = join(qmpDir, 'qmp.sock');
  const dst = await launchVm({
    version: o.version, role: 'destination', memMiB: MEM, bootDisk: makeBootDisk({ startMiB: 1, endMiB: 9 }),
    extraArgs: ['-qmp', `unix:${qmpSock},server=on,wait=off`, ...(o.tls ? qemuTlsObjectArgs({ dir: o.tls.dir, endpoint: 'server' }) : [])],
    ...(o.machine ? { machine: o.machine } : {}), ...(o.running ? { paused: false } : {}),
  });
  try {
    const target = await prepareDestination(dst.qmp, { ...(o.caps ? { caps: o.caps } : {}), ...(o.params ? { params: o.params } : {}), ...(o.exitOnError === false ? { exitOnError: false } : {}) });
    if (o.cli) {
      const out = new MemoryOutput();
      const args = ['replay', capture, '--target', `${target.host}:${target.port}`, '--qmp', qmpSock, '--quiet'];
      if (o.timing) args.push('--timing', o.timing);
      if (o.out) args.push('--out', o.out);
      const code = await main([...args, '--json'], out);
      const report = JSON.parse(out.lines.join('')) as ReplayReport;
      const human = new MemoryOutput();
      const { formatReplayReport } = await import('migwire');
      for (const l of formatReplayReport(report)) human.line(l);
      if ((code === 0) !== report.ok) throw new Error(`exit ${code} but ok=${report.ok}`);
      return { report, dst, text: human.lines.join('\n') };
    }
    const report = await replayCapture(capture, { target, qmpSocket: qmpSock, ...(o.timing ? { timing: o.timing } : {}), ...(o.tls ? { tls: clientTlsOptions(o.tls.creds, '127.0.0.1') } : {}) });
    return { report, dst, text: '' };
  } catch (e) {
    await dst.stop();
    throw e;
  } finally {
    rmSync(qmpDir, { recursive: true, force: true });
  }
}

/** The original destination's RAM at switchover: meta.json's pmemsave hash, else migwire extract's pc.ram. */
async function expectedRamSha(capture: string, scratch: string): Promise<string> {
  const metaPath = join(capture, 'meta.json');
  if (existsSync(metaPath)) {
    // Shared captures name it sha256_dst; our fixtures compare (a = source, b = destination).
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { verification?: { exact_full_ram_compare?: { sha256_dst?: string; sha256_b?: string } } };
    const h = meta.verification?.exact_full_ram_compare?.sha256_dst ?? meta.verification?.exact_full_ram_compare?.sha256_b;
    if (h) return h;
  }
  const rep = await runExtract(capture, { outDir: join(scratch, 'ram'), blocks: ['pc.ram'], quiet: true });
  if (rep.errors.length) throw new Error(`extract: ${rep.errors.join('; ')}`);
  return sha(readFileSync(join(scratch, 'ram', 'pc.ram.img')));
}

function assertAllSent(t: import('ava').ExecutionContext, r: ReplayReport): void {
  for (const c of r.connections) t.is(c.bytesSent, c.bytesToSend, `${c.name}: every byte sent`);
}

// --- shared captures ---------------------------------------------------------------------------

const sharedPrecopy: Array<{ name: string; version: QemuVersion; machine?: string }> = [
  { name: '10.0-c-multifd4-zstd', version: '10.0' },
  { name: '10.0-c2-multifd4-zlib', version: '10.0' },
  { name: '7.2-c-multifd4-zstd', version: '7.2', machine: 'pc-q35-7.2' },
];

for (const c of sharedPrecopy) {
  const have = haveShared && (qemuBinary(c.version) || process.env['CI'] === 'true');
  (have ? test.serial : test.serial.skip)(`shared capture ${c.name} replayed into a fresh ${c.version} destination: completed, RAM identical to the original's`, async (t) => {
    if (!requireQemu(t, c.version)) return;
    const capture = join(SHARED, c.name);
    const scratch = mkdtempSync(join(tmpdir(), 'mw-replay-it-'));
    try {
      // Version, machine, RAM size, caps and params: what meta.json says the destination had.
      const { report, ramSha256 } = await replayIntoFreshQemu(capture);
      t.is(report.outcome, 'completed', report.reason ?? '');
      t.is(report.timing, 'fast');
      t.is(report.connections.length, 5);
      assertAllSent(t, report);
      t.is(report.destination?.status, 'completed');
      t.is(ramSha256, await expectedRamSha(capture, scratch), 'replayed RAM = original destination RAM at switchover');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}

(haveShared && (qemuBinary('10.0') || process.env['CI'] === 'true') ? test.serial : test.serial.skip)('migwire replay --qmp --setup sets a bare -incoming defer destination up from meta.json, then replays: completed', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const capture = join(SHARED, '10.0-c2-multifd4-zlib');
  const qmpDir = mkdtempSync(join(tmpdir(), 'mwr-'));
  const qmpSock = join(qmpDir, 'qmp.sock');
  const dst = await launchVm({ version: '10.0', role: 'destination', memMiB: MEM, bootDisk: makeBootDisk({ startMiB: 1, endMiB: 9 }), extraArgs: ['-qmp', `unix:${qmpSock},server=on,wait=off`] });
  try {
    const out = new MemoryOutput();
    const code = await main(['replay', capture, '--qmp', qmpSock, '--setup'], out);
    t.is(code, 0, [...out.lines, ...out.errors].join('\n'));
    t.regex(out.errors.join('\n'), /destination set up \(caps \{"multifd":true\}, params \{"multifd-channels":4,"multifd-compression":"zlib"\}\), listening on 127\.0\.0\.1:\d+/);
    t.regex(out.lines.join('\n'), /replay: completed/);
    t.is(sha(await pmemsaveAll(dst.qmp, MEM, join(qmpDir, 'ram.bin'))), await expectedRamSha(capture, qmpDir));
  } finally {
    await dst.stop();
    rmSync(qmpDir, { recursive: true, force: true });
  }
});

const havePostcopy = haveShared && (qemuBinary('10.0') || process.env['CI'] === 'true');
(havePostcopy ? test.serial : test.serial.skip)('shared capture 10.0-g-postcopy-preempt replayed at recorded timing: completed, the guest pattern verifies after it runs', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const capture = join(SHARED, '10.0-g-postcopy-preempt');
  const scratch = mkdtempSync(join(tmpdir(), 'mw-replay-it-'));
  const settings = destinationSettings(capture)!;
  t.deepEqual(settings.caps, { 'postcopy-ram': true, 'postcopy-preempt': true });
  const out = join(scratch, 'replayed');
  const { report, dst, text } = await replayInto(capture, { version: '10.0', caps: settings.caps, params: settings.params, timing: 'recorded', running: true, cli: true, out });
  try {
    t.is(report.outcome, 'completed', `${report.reason ?? ''}\n${text}`);
    t.is(report.timing, 'recorded');
    t.deepEqual(report.connections.map((c) => c.name), ['main', 'postcopy-preempt']);
    assertAllSent(t, report);
    t.true(report.destination!.statuses.some((s) => s.status === 'postcopy-active'), 'went through postcopy');
    const rp = report.connections[0]!.returnPath!;
    t.is(rp.shutStatus, 0, 'the destination said SHUT 0');
    t.true((rp.receivedCounts['REQ_PAGES'] ?? 0) + (rp.receivedCounts['REQ_PAGES_ID'] ?? 0) > 0, 'the replayed destination asked for pages');
    t.regex(text, /return path: \d+ messages, recorded \d+/);
    // --out: the replay as a capture; what came back is QEMU's own return path, and it round-trips.
    t.is(readFileSync(join(out, 'conn00.dst2src.bin')).length, report.connections[0]!.bytesReceived);
    t.is(sha(readFileSync(join(out, 'conn01.src2dst.bin'))), sha(readFileSync(join(capture, 'conn01.src2dst.bin'))));
    const rt = new MemoryOutput();
    t.is(await main(['check', '--roundtrip', out], rt), 0, rt.lines.join('\n'));
    if ((await dst.runState()) !== 'running') await dst.qmp.execute('cont');
    const before = dst.countMarkers();
    await dst.waitForMarkers(before + 100, 20_000);
    await dst.qmp.execute('stop');
    t.true(verifyPattern(await pmemsaveRegion(dst.qmp, 1, 9, join(scratch, 'region.bin')), 1, 9).ok, 'guest pattern after running on the replayed destination');
  } finally {
    await dst.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
});

// --- our own recordings ------------------------------------------------------------------------

interface OwnCase {
  name: string;
  /** Releases the case runs on (source, destination and replay): default 10.0 only. */
  versions?: QemuVersion[];
  caps?: Record<string, boolean>;
  params?: Record<string, unknown>;
  srcParams?: Record<string, unknown>;
  hold?: HoldControl;
  /** Postcopy: both destinations run; the guest pattern is checked after the replayed one runs. */
  postcopy?: boolean;
  /** x509 TLS between the QEMUs and the proxy (terminated there, plaintext recorded) and for the replay. */
  tls?: boolean;
  /** A record kind the recorded main channel must hold (proves the feature was exercised). */
  expectRecord?: string;
  /** Check on the report beyond completion and RAM. */
  extra?: (t: import('ava').ExecutionContext, r: ReplayReport, version: QemuVersion) => void;
  /** More replays of the same recording (precopy: `original` is the RAM sha256 to reach; `tlsDir` the recording's credentials). */
  more?: (t: import('ava').ExecutionContext, capture: string, ctx: { original: string; tlsDir: string }) => Promise<void>;
}

const own: OwnCase[] = [
  { name: 'precopy', versions: ['10.0', '11.1'] },
  { name: 'multifd 4 none', versions: ['10.0', '11.1'], caps: { multifd: true }, params: { 'multifd-channels': 4 }, extra: (t, r) => t.is(r.connections.filter((c) => c.role === 'multifd').length, 4) },
  { name: 'xbzrle', caps: { xbzrle: true }, expectRecord: 'ram-xbzrle' },
  {
    name: 'switchover-ack with the return path',
    versions: ['10.0', '11.1'],
    caps: { 'return-path': true, 'switchover-ack': true },
    extra: (t, r, version) => {
      const rp = r.connections[0]!.returnPath!;
      t.true(rp.same, `return path as recorded: ${JSON.stringify(rp.firstDivergence)}`);
      // 10.0: one legacy ACK; 11.1 on its own machine type: per device, and no device here needs one.
      const mode = switchoverAckMode({ machine: 'q35', destinationRelease: version }).mode;
      t.is(rp.receivedCounts['SWITCHOVER_ACK'] ?? 0, mode === 'legacy' ? 1 : 0);
      t.is(rp.shutStatus, 0);
    },
  },
  {
    name: 'TLS + multifd 4 (terminated by the proxy, replayed over new TLS sessions with fresh credentials; also with the recording\'s and in plaintext)',
    caps: { multifd: true },
    params: { 'multifd-channels': 4, 'tls-creds': 'tls0' },
    tls: true,
    extra: (t, r) => t.deepEqual(r.warnings, []),
    more: async (t, capture, { original, tlsDir }) => {
      // The recording's own credentials, given as a folder.
      const own = await replayIntoFreshQemu(capture, { version: '10.0', memMiB: MEM, tlsDir });
      t.true(own.tls);
      t.is(own.report.outcome, 'completed', own.report.reason ?? '');
      t.is(own.ramSha256, original, 'replayed with the recording\'s credentials: RAM identical');
      // Plaintext on request: a destination without tls-creds takes the recorded plaintext as it is.
      const plain = await replayIntoFreshQemu(capture, { version: '10.0', memMiB: MEM, tls: false });
      t.false(plain.tls);
      t.is(plain.report.outcome, 'completed', plain.report.reason ?? '');
      t.is(plain.ramSha256, original, 'replayed in plaintext: RAM identical');
    },
  },
  {
    name: 'postcopy (no preempt, recorded timing by default)',
    versions: ['10.0', '11.1'],
    caps: { 'postcopy-ram': true },
    srcParams: { 'max-postcopy-bandwidth': 16 * MiB },
    hold: { ...DEFAULT_HOLD, syncs: 2, release: { 'downtime-limit': 1, 'max-bandwidth': 32 * MiB }, startPostcopy: true },
    postcopy: true,
    extra: (t, r) => {
      t.is(r.timing, 'recorded', 'postcopy captures default to recorded timing');
      t.true(r.destination!.statuses.some((s) => s.status === 'postcopy-active'));
      t.is(r.connections[0]!.returnPath!.shutStatus, 0);
    },
  },
  {
    // multifd and postcopy together exist from 10.1 on.
    name: 'multifd 4 + postcopy + preempt (six connections)',
    versions: ['11.1'],
    caps: { multifd: true, 'postcopy-ram': true, 'postcopy-preempt': true },
    params: { 'multifd-channels': 4 },
    srcParams: { 'max-postcopy-bandwidth': 64 * MiB },
    hold: { ...DEFAULT_HOLD, syncs: 2, release: { 'downtime-limit': 1, 'max-bandwidth': 32 * MiB }, startPostcopy: true },
    postcopy: true,
    extra: (t, r) => {
      t.is(r.connections.filter((c) => c.role === 'multifd').length, 4);
      t.true(r.destination!.statuses.some((s) => s.status === 'postcopy-active'));
    },
  },
];

for (const c of own) for (const version of c.versions ?? ['10.0' as const]) {
  const have = qemuBinary(version) || process.env['CI'] === 'true';
  (have ? test.serial : test.serial.skip)(`${version} ${c.name} recorded through RecordingProxy, replayed into a fresh destination: completed, ${c.postcopy ? 'the guest pattern verifies after it runs' : 'RAM identical'}`, async (t) => {
    if (!requireQemu(t, version)) return;
    const dir = mkdtempSync(join(tmpdir(), 'mw-replay-own-'));
    const capture = join(dir, 'capture');
    const disk = makeBootDisk({ startMiB: 1, endMiB: 9 });
    let src: Vm | undefined;
    let dst: Vm | undefined;
    let proxy: RecordingProxy | undefined;
    try {
      const creds = c.tls ? generateTlsCredentials() : undefined;
      const tlsDir = join(dir, 'tls');
      if (creds) writeQemuTlsDir(tlsDir, creds);
      const tlsArgs = (endpoint: 'client' | 'server'): string[] => (creds ? qemuTlsObjectArgs({ dir: tlsDir, endpoint }) : []);
      src = await launchVm({ version, role: 'source', memMiB: MEM, bootDisk: disk, extraArgs: tlsArgs('client') });
      dst = await launchVm({ version, role: 'destination', memMiB: MEM, bootDisk: disk, extraArgs: tlsArgs('server'), ...(c.postcopy ? { paused: false } : {}) });
      const r = await runMigration({
        source: src, destination: dst, ...(c.caps ? { caps: c.caps } : {}), ...(c.params ? { params: c.params } : {}), ...(c.srcParams ? { srcParams: c.srcParams } : {}),
        hold: c.hold ?? DEFAULT_HOLD, pollMs: 50,
        interpose: async (uri) => {
          proxy = new RecordingProxy({
            listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: Number(/:(\d+)$/.exec(uri)![1]) }, outDir: capture,
            ...(creds ? { tls: { server: serverTlsOptions(creds), client: clientTlsOptions(creds, '127.0.0.1') } } : {}),
          });
          const a = await proxy.start();
          return `tcp:127.0.0.1:${a.port}`;
        },
      });
      t.is(r.status, 'completed', r.reason ?? '');
      // The original destination is paused at switchover: its RAM is the reference (postcopy: it runs on).
      const original = c.postcopy ? '' : sha(await pmemsaveAll(dst.qmp, MEM, join(dir, 'dst.bin')));
      await src.stop();
      await dst.stop();
      await proxy!.close(3000);
      writeFileSync(join(capture, 'meta.json'), JSON.stringify({ caps: c.caps ?? {}, params: c.params ?? {} }));
      if (c.expectRecord) {
        let n = 0;
        await decodeCapture(await openCapture(capture), { only: (ch) => ch.name === 'main', onRecord: (_ch, rec) => void (rec.kind === c.expectRecord && n++) });
        t.true(n > 0, `the recording holds ${c.expectRecord} records`);
      }

      // Caps and params from the meta.json written above; postcopy: the guest runs, the pattern is checked.
      // A TLS-terminated recording (index.json) is replayed over TLS with credentials made for the replay.
      const res = await replayIntoFreshQemu(capture, { version, memMiB: MEM });
      t.is(res.tls, c.tls === true, 'over TLS exactly when the recording terminated TLS');
      t.is(res.report.outcome, 'completed', res.report.reason ?? '');
      assertAllSent(t, res.report);
      if (c.postcopy) t.true(res.pattern?.ok, `guest pattern after running on the replayed destination: ${JSON.stringify(res.pattern)}`);
      else t.is(res.ramSha256, original, 'replayed RAM = original destination RAM at switchover');
      c.extra?.(t, res.report, version);
      await c.more?.(t, capture, { original, tlsDir });
    } finally {
      await src?.stop();
      await dst?.stop();
      await proxy?.close(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// --- the committed fixtures: file rows (stream.bin.gz), each on one main connection ----------------

const committed = readdirSync(join(root, 'fixtures')).filter((n) => existsSync(join(root, 'fixtures', n, 'stream.bin.gz'))).sort();
for (const name of committed) {
  const fixture = join(root, 'fixtures', name);
  const rec = JSON.parse(readFileSync(join(fixture, 'meta.json'), 'utf8')) as { caps?: Record<string, boolean>; qemu?: { dst?: { build?: string } } };
  if (rec.caps?.['mapped-ram']) continue; // a file format, not a socket stream
  const version: QemuVersion = rec.qemu?.dst?.build === '7.2' ? '7.2' : '10.0';
  (qemuBinary(version) || process.env['CI'] === 'true' ? test.serial : test.serial.skip)(`the fixture ${name} (stream.bin.gz) replayed on one main connection: completed, RAM identical`, async (t) => {
    if (!requireQemu(t, version)) return;
    const scratch = mkdtempSync(join(tmpdir(), 'mw-replay-fx-'));
    try {
      // The guest's pattern region only shapes the boot disk; the RAM comes from the stream.
      const { report, ramSha256 } = await replayIntoFreshQemu(fixture, { region: [1, 5] });
      t.is(report.outcome, 'completed', report.reason ?? '');
      t.deepEqual(report.connections.map((c) => c.name), ['main']);
      t.true(report.connections[0]!.bytesSent > 1 * MiB, 'the whole unpacked stream went out');
      t.is(ramSha256, await expectedRamSha(fixture, scratch));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}

// --- doctored captures -------------------------------------------------------------------------

function copyCapture(from: string, to: string): void {
  for (const f of readdirSync(from)) copyFileSync(join(from, f), join(to, f));
}

(haveShared && (qemuBinary('10.0') || process.env['CI'] === 'true') ? test.serial : test.serial.skip)(
  'doctored captures (a byte flipped in a device section, a truncated main, bad page flags mid-stream): QEMU\'s error next to the offset sent on each channel',
  async (t) => {
    if (!requireQemu(t, '10.0')) return;
    const base = join(SHARED, '10.0-c-multifd4-zstd');
    const settings = destinationSettings(base)!;

    // 1. The first byte of the "cpu" section's idstr becomes 'x': QEMU finds no section "xpu".
    const flipped = mkdtempSync(join(tmpdir(), 'mw-replay-flip-'));
    copyCapture(base, flipped);
    let cpuAt = -1;
    await decodeCapture(await openCapture(flipped), {
      only: (ch) => ch.name === 'main',
      onRecord: (_ch, r) => {
        if (cpuAt < 0 && r.kind === 'section' && 'idstr' in r && r.idstr === 'cpu') cpuAt = r.offset + 6;
      },
    });
    t.true(cpuAt > 0, 'found the cpu section');
    const mainPath = join(flipped, 'conn00.src2dst.bin');
    const bytes = readFileSync(mainPath);
    t.is(bytes[cpuAt], 'c'.charCodeAt(0));
    bytes[cpuAt] = 'x'.charCodeAt(0);
    writeFileSync(mainPath, bytes);
    const a = await replayInto(flipped, { version: '10.0', caps: settings.caps, params: settings.params, exitOnError: false, cli: true });
    try {
      t.is(a.report.outcome, 'failed');
      t.is(a.report.destination?.status, 'failed');
      t.regex(a.report.destination?.errorDesc ?? '', /load of migration failed/);
      t.truthy(a.report.failure);
      t.deepEqual(a.report.failure!.sentAt.map((s) => s.name), ['main', 'multifd 0', 'multifd 1', 'multifd 2', 'multifd 3']);
      for (const s of a.report.failure!.sentAt) t.true(s.sent <= s.total);
      t.true(a.report.failure!.sentAt[0]!.sent > cpuAt, 'main had been sent past the flipped byte');
      t.regex(a.text, /destination error: load of migration failed/);
      t.regex(a.text, /FAILED: destination QEMU: load of migration failed[\s\S]*first sign at [\d.]+ s:[\s\S]*conn00 main\s+byte offset \d+ of \d+[\s\S]*conn04 multifd 3\s+byte offset \d+/);
      t.regex(a.dst.output, /Unknown savevm section or instance 'xpu'/);
      t.true(a.report.destination!.events.some((e) => e.event === 'MIGRATION' && e.data?.['status'] === 'failed'), 'the MIGRATION failed event is in the report');
      t.regex(a.text, /event MIGRATION \{"status":"failed"\}/);
    } finally {
      await a.dst.stop();
      rmSync(flipped, { recursive: true, force: true });
    }

    // 2. Main cut inside the cpu section (past it comes mostly the VMDESCRIPTION trailer, which
    //    QEMU reads but does not need): the destination reads EOF in the middle of device state.
    const cut = mkdtempSync(join(tmpdir(), 'mw-replay-cut-'));
    copyCapture(base, cut);
    const half = cpuAt + 100;
    truncateSync(join(cut, 'conn00.src2dst.bin'), half);
    const b = await replayInto(cut, { version: '10.0', caps: settings.caps, params: settings.params, exitOnError: false, cli: true });
    try {
      t.is(b.report.outcome, 'failed');
      t.regex(b.report.destination?.errorDesc ?? '', /fail/i);
      t.is(b.report.failure!.sentAt[0]!.total, half);
      t.true(b.report.failure!.sentAt[0]!.sent <= half);
      t.regex(b.text, /destination error: /);
    } finally {
      await b.dst.stop();
      rmSync(cut, { recursive: true, force: true });
    }

    // 3. A RAM page record 4 MB into the postcopy capture's main gets impossible flags: QEMU fails in
    //    the middle of precopy, the preempt channel was never opened, main stopped soon after the byte.
    const pc = join(SHARED, '10.0-g-postcopy-preempt');
    const mid = mkdtempSync(join(tmpdir(), 'mw-replay-mid-'));
    copyCapture(pc, mid);
    let pageAt = -1;
    await decodeCapture(await openCapture(mid), { only: (ch) => ch.name === 'main', onRecord: (_ch, r) => void (pageAt < 0 && r.offset > 4_000_000 && r.kind === 'ram-page' && (pageAt = r.offset)) });
    const midMain = join(mid, 'conn00.src2dst.bin');
    const mb = readFileSync(midMain);
    mb[pageAt + 6] = mb[pageAt + 6]! | 0x0f; // the be64 address+flags word: flags in its low 12 bits
    mb[pageAt + 7] = 0xff;
    writeFileSync(midMain, mb);
    const pcSettings = destinationSettings(pc)!;
    const c = await replayInto(mid, { version: '10.0', caps: pcSettings.caps, params: pcSettings.params, running: true, exitOnError: false, cli: true });
    try {
      t.is(c.report.outcome, 'failed', c.text);
      t.is(c.report.timing, 'recorded');
      const [m, p] = c.report.failure!.sentAt;
      t.true(m!.sent > pageAt && m!.sent < m!.total, `main sent ${m!.sent} of ${m!.total}, the bad record at ${pageAt}`);
      t.is(p!.sent, 0);
      t.is(c.report.connections[1]!.end, 'not-connected');
      t.regex(c.text, /conn00 main\s+byte offset \d+ of 18289788/);
    } finally {
      await c.dst.stop();
      rmSync(mid, { recursive: true, force: true });
    }
  },
);
