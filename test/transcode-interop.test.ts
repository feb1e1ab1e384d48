/**
 * Interop: `migwire transcode` as the sending side, a fresh real QEMU as the destination. A
 * recording is sent again in another channel layout (a plain precopy stream to 4 multifd channels,
 * a multifd recording to one channel, a 7.2 multifd recording to a 7.2 destination, 11.1 multifd +
 * postcopy recordings to multifd + postcopy and a preempt channel, a legacy switchover-ack); the migration
 * must complete and the destination's RAM must equal the RAM the recording carries (what
 * `migwire extract` rebuilds from it). Where a RecordingProxy sits between transcode and QEMU, the
 * recording of what transcode sent must pass every `migwire check` rule.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordingProxy } from '@migwire/channel-manager';
import { openCapture } from '@migwire/capture';
import { checkCapture } from '@migwire/sync';
import { runExtract, runTranscode, type TranscodeOptions, type TranscodeReport } from 'migwire';
import { makeBootDisk } from './harness/guest.js';
import { pmemsaveAll, pmemsaveRegion, verifyPattern } from './harness/memory.js';
import { launchVm, qemuBinary, requireQemu, runMigration, type QemuVersion, type Vm } from './harness/qemu.js';
import { copyUnpacked } from './helpers/unpacked.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The real captures the project grew from: the repo's own gzipped copies in fixtures/. */
const SHARED = process.env['MIGWIRE_SHARED_CAPTURES'] ?? resolve(ROOT, 'fixtures');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Case {
  name: string;
  capture: string;
  version: QemuVersion;
  machine?: string;
  memMiB: number;
  channels: number;
  compression: 'none' | 'zlib' | 'zstd';
  /** Record what transcode sends and run `migwire check` on it. */
  check: boolean;
  /** The destination's QEMU rules, when not the recording's. */
  qemu?: QemuVersion;
  /** More destination capabilities (postcopy, switchover-ack...). */
  caps?: Record<string, boolean>;
  /** Postcopy: the destination runs; the guest pattern (region, MiB) is checked after completion. */
  postcopy?: { region: [number, number] };
  /** Open a postcopy-preempt channel (the destination has postcopy-preempt on). */
  preempt?: boolean;
  /** Transcode an unpacked copy: plain files, whose read buffers transcode reuses. */
  unpack?: boolean;
}

/** A copy of `from` with its gzipped channel files unpacked, in `dir`. */
function unpacked(from: string, dir: string): string {
  const to = join(dir, 'plain');
  mkdirSync(to);
  copyUnpacked(from, to);
  return to;
}

const cases: Case[] = [
  { name: '10.0 plain precopy file -> 4 multifd channels, none', capture: join(ROOT, 'fixtures', '10.0-precopy-file'), version: '10.0', memMiB: 32, channels: 4, compression: 'none', check: true },
  { name: '10.0 plain precopy file -> 4 multifd channels, zstd', capture: join(ROOT, 'fixtures', '10.0-precopy-file'), version: '10.0', memMiB: 32, channels: 4, compression: 'zstd', check: true },
  { name: '10.0 multifd 4 none recording, unpacked (plain files: read buffers reused) -> 2 multifd channels, zlib', capture: join(ROOT, 'fixtures', '10.0-multifd4-none'), version: '10.0', memMiB: 32, channels: 2, compression: 'zlib', check: true, unpack: true },
  { name: '10.0 multifd 4 zstd recording -> a single main stream', capture: join(SHARED, '10.0-c-multifd4-zstd'), version: '10.0', memMiB: 128, channels: 0, compression: 'none', check: true },
  { name: '7.2 multifd 4 zstd recording -> 7.2 destination, multifd 4 zstd', capture: join(SHARED, '7.2-c-multifd4-zstd'), version: '7.2', machine: 'pc-q35-7.2', memMiB: 128, channels: 4, compression: 'zstd', check: true },
  // 10.0 with a 7.2 machine type keeps the per-section flush, but its packets carry zero pages.
  { name: '7.2 multifd 4 zstd recording -> 10.0 destination (pc-q35-7.2), multifd 2 zlib', capture: join(SHARED, '7.2-c-multifd4-zstd'), version: '10.0', machine: 'pc-q35-7.2', memMiB: 128, channels: 2, compression: 'zlib', check: false, qemu: '10.0' },
  // QEMU 11.1, the current release.
  { name: '10.0 plain precopy file -> 11.1 destination (pc-q35-10.0), 4 multifd channels, zlib (a native deflate segment per packet)', capture: join(ROOT, 'fixtures', '10.0-precopy-file'), version: '11.1', machine: 'pc-q35-10.0', memMiB: 32, channels: 4, compression: 'zlib', check: true, qemu: '11.1' },
  { name: '10.0 plain precopy file -> 11.1 destination (pc-q35-10.0), 4 multifd channels, zstd', capture: join(ROOT, 'fixtures', '10.0-precopy-file'), version: '11.1', machine: 'pc-q35-10.0', memMiB: 32, channels: 4, compression: 'zstd', check: true, qemu: '11.1' },
  { name: '11.1 multifd 4 + postcopy recording -> main + 2 multifd + postcopy', capture: join(ROOT, 'fixtures', '11.1-multifd4-postcopy'), version: '11.1', memMiB: 32, channels: 2, compression: 'none', check: false, caps: { 'postcopy-ram': true }, postcopy: { region: [1, 5] } },
  { name: '11.1 multifd 4 + postcopy + preempt recording -> main + 4 multifd + preempt', capture: join(ROOT, 'fixtures', '11.1-multifd4-postcopy-preempt'), version: '11.1', memMiB: 32, channels: 4, compression: 'none', check: false, caps: { 'postcopy-ram': true, 'postcopy-preempt': true }, postcopy: { region: [1, 5] }, preempt: true },
  { name: '10.0 postcopy-preempt recording -> 11.1 destination (pc-q35-10.0), main + 2 multifd + postcopy + preempt', capture: join(ROOT, 'fixtures', '10.0-postcopy-preempt'), version: '11.1', machine: 'pc-q35-10.0', memMiB: 32, channels: 2, compression: 'none', check: false, qemu: '11.1', caps: { 'postcopy-ram': true, 'postcopy-preempt': true }, postcopy: { region: [1, 5] }, preempt: true },
  { name: '11.1 switchover-ack recording (machine pc-q35-11.0, legacy ACK) -> a single main stream, ACK awaited', capture: join(ROOT, 'fixtures', '11.1-m11.0-switchover-ack'), version: '11.1', machine: 'pc-q35-11.0', memMiB: 32, channels: 0, compression: 'none', check: false, caps: { 'return-path': true, 'switchover-ack': true } },
];

async function carriedRam(capture: string, dir: string): Promise<string> {
  const out = join(dir, 'extracted');
  const r = await runExtract(capture, { outDir: out, blocks: ['pc.ram'], quiet: true });
  if (r.errors.length) throw new Error(r.errors.join('; '));
  return sha(readFileSync(join(out, 'pc.ram.img')));
}

for (const c of cases) {
  const have = (qemuBinary(c.version) && existsSync(c.capture)) || process.env['CI'] === 'true';
  (have ? test.serial : test.serial.skip)(`transcode: ${c.name}: the destination completes with the recording's RAM`, async (t) => {
    if (!requireQemu(t, c.version)) return;
    const dir = mkdtempSync(join(tmpdir(), 'mw-transcode-'));
    const recording = join(dir, 'sent');
    const capture = c.unpack ? unpacked(c.capture, dir) : c.capture;
    let dst: Vm | undefined;
    let proxy: RecordingProxy | undefined;
    try {
      const region = c.postcopy?.region;
      dst = await launchVm({
        version: c.version, role: 'destination', memMiB: c.memMiB, bootDisk: makeBootDisk(region ? { startMiB: region[0], endMiB: region[1] } : {}),
        ...(c.machine ? { machine: c.machine } : {}), ...(c.postcopy ? { paused: false } : {}),
      });
      let sending: Promise<TranscodeReport> | undefined;
      const r = await runMigration({
        destination: dst,
        caps: { ...(c.channels ? { multifd: true } : {}), ...c.caps },
        ...(c.channels ? { params: { 'multifd-channels': c.channels, 'multifd-compression': c.compression } } : {}),
        hold: null,
        waitMarkers: 0,
        pollMs: 50,
        timeoutMs: 90_000,
        interpose: async (uri) => {
          let port = Number(/:(\d+)$/.exec(uri)![1]);
          if (c.check) {
            proxy = new RecordingProxy({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port }, outDir: recording });
            port = (await proxy.start()).port;
          }
          const o: TranscodeOptions = { target: { host: '127.0.0.1', port }, channels: c.channels, compression: c.compression, timeoutMs: 30_000, ...(c.qemu ? { qemu: c.qemu } : {}), ...(c.preempt ? { preempt: true } : {}) };
          sending = runTranscode(capture, o);
          sending.catch(() => undefined); // awaited below; keep an early failure from being unhandled
          return uri;
        },
      });
      const report = await sending!;
      t.is(r.status, 'completed', `${r.reason ?? ''}\n${dst.output}`);
      t.is(r.dst_status, 'completed');
      t.true(report.destinationClosed, 'the destination closed the stream once it had loaded it');
      t.is(report.counts.multifd.length, c.channels);
      if (c.channels) t.true(report.counts.multifd.every((m) => m.normalPages > 0 && m.syncs === report.counts.rounds), 'pages and one SYNC per round on every channel');
      if (c.qemu === '10.0' && c.machine === 'pc-q35-7.2') {
        t.is(report.plan.flushMode, 'per-section');
        t.is(report.counts.main.flushes, 0);
        t.true(report.counts.multifd.every((m) => m.zeroPages > 0), 'zero pages in 10.0 packets');
      }

      if (c.caps?.['switchover-ack']) t.deepEqual([report.switchoverAck?.mode, report.switchoverAck?.acks], ['legacy', 1], 'the legacy ACK came and transcode honoured it');
      if (c.postcopy) {
        // The destination runs on the pages it faulted in: the guest's pattern must hold after completion.
        t.true(report.counts.barriers.postcopy === (c.channels ? 1 : 0) && report.counts.postcopy.pagesOnMain + report.counts.postcopy.pagesOnPreempt > 0);
        if (c.preempt) t.true(report.counts.postcopy.pagesOnPreempt > 0, 'the recording\'s preempt pages went on the preempt channel');
        const before = dst.countMarkers();
        await dst.waitForMarkers(before + 100, 20_000);
        await dst.qmp.execute('stop');
        const [from, to] = c.postcopy.region;
        t.true(verifyPattern(await pmemsaveRegion(dst.qmp, from, to, join(dir, 'region.bin')), from, to).ok, 'guest pattern after running on the destination');
        return;
      }
      const ram = await pmemsaveAll(dst.qmp, c.memMiB, join(dir, 'dst.bin'));
      t.is(sha(ram), await carriedRam(capture, dir), "the destination's RAM is the RAM the recording carries");

      if (proxy) {
        await dst.stop();
        const index = await proxy.close(3000);
        t.true(index.all_recorded_equals_forwarded);
        const checked = await checkCapture(await openCapture(recording));
        t.true(checked.ok, JSON.stringify(checked.rules.filter((x) => x.status === 'fail')));
        if (c.channels) {
          t.is(checked.rules.find((x) => x.id === 'sync-per-flush')?.status, 'pass');
          t.is(checked.rules.find((x) => x.id === 'round-order')?.status, 'pass');
        }
        t.is(await carriedRam(recording, join(dir, 'again')), sha(ram), 'what transcode sent extracts to the same RAM');
      }
    } finally {
      await dst?.stop();
      await proxy?.close(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// Our own recording with the return path on: transcode reads the destination's PONG and SHUT, and
// the destination ends with the RAM the source stopped with.
const have10 = qemuBinary('10.0') || process.env['CI'] === 'true';
(have10 ? test.serial : test.serial.skip)('transcode: a 10.0 precopy recording with the return path -> 4 multifd channels: PONG and SHUT read, RAM of the stopped source', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const { DEFAULT_HOLD } = await import('./harness/qemu.js');
  const dir = mkdtempSync(join(tmpdir(), 'mw-transcode-rp-'));
  const capture = join(dir, 'capture');
  const disk = makeBootDisk({ startMiB: 1, endMiB: 9 });
  const MEM = 64;
  let src: Vm | undefined;
  let dst: Vm | undefined;
  let proxy: RecordingProxy | undefined;
  try {
    src = await launchVm({ version: '10.0', role: 'source', memMiB: MEM, bootDisk: disk });
    dst = await launchVm({ version: '10.0', role: 'destination', memMiB: MEM, bootDisk: disk });
    const rec = await runMigration({
      source: src,
      destination: dst,
      caps: { 'return-path': true },
      hold: DEFAULT_HOLD,
      pollMs: 50,
      interpose: async (uri) => {
        proxy = new RecordingProxy({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: Number(/:(\d+)$/.exec(uri)![1]) }, outDir: capture });
        return `tcp:127.0.0.1:${(await proxy.start()).port}`;
      },
    });
    t.is(rec.status, 'completed', rec.reason ?? '');
    const srcRam = await pmemsaveAll(src.qmp, MEM, join(dir, 'src.bin'));
    await src.stop();
    await dst.stop();
    await proxy!.close(3000);

    dst = await launchVm({ version: '10.0', role: 'destination', memMiB: MEM, bootDisk: disk });
    let sending: Promise<TranscodeReport> | undefined;
    const r = await runMigration({
      destination: dst,
      caps: { 'return-path': true, multifd: true },
      params: { 'multifd-channels': 4 },
      hold: null,
      waitMarkers: 0,
      pollMs: 50,
      interpose: async (uri) => {
        sending = runTranscode(capture, { target: { host: '127.0.0.1', port: Number(/:(\d+)$/.exec(uri)![1]) }, channels: 4, timeoutMs: 30_000 });
        sending.catch(() => undefined);
        return uri;
      },
    });
    const report = await sending!;
    t.is(r.status, 'completed', `${r.reason ?? ''}\n${dst.output}`);
    t.true(report.counts.usedReturnPath);
    t.deepEqual(report.returnPath?.shut, { status: 0 }, 'SHUT with status 0');
    t.true((report.returnPath?.pongs.length ?? 0) >= 1, 'the PING in the stream was answered');
    t.is(sha(await pmemsaveAll(dst.qmp, MEM, join(dir, 'dst.bin'))), sha(srcRam), "the destination's RAM is the stopped source's");
  } finally {
    await src?.stop();
    await dst?.stop();
    await proxy?.close(0);
    rmSync(dir, { recursive: true, force: true });
  }
});
