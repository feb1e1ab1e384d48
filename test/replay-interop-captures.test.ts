/**
 * Interop: `migwire replay` of captures made elsewhere into real QEMU, each into a fresh destination
 * started with `-incoming defer` (paused, except for postcopy) and set up as the recording's
 * destination was: the shared captures (10.0 multifd zstd/zlib, 7.2 multifd zstd into 7.2, 10.0
 * postcopy-preempt at recorded timing) and the committed fixtures' file streams. Each must reach
 * `completed` with the replayed destination's RAM identical (sha256 of pmemsave) to the original
 * destination's at switchover; for postcopy the guest pattern must verify after the guest runs.
 */
import test from 'ava';
import { gunzipSync } from 'node:zlib';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destinationSettings, main, MemoryOutput, replayIntoFreshQemu } from 'migwire';
import { makeBootDisk, MiB } from './harness/guest.js';
import { pmemsaveAll, pmemsaveRegion, verifyPattern } from './harness/memory.js';
import { launchVm, qemuBinary, requireQemu, type QemuVersion } from './harness/qemu.js';
import { assertAllSent, expectedRamSha, haveShared, MEM, replayInto, root, sha, SHARED, wentThroughPostcopy } from './helpers/replay.js';

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

/** A capture's channel file, plain or gzipped (the repo keeps the real captures gzipped). */
function channelFile(dir: string, name: string): Buffer {
  const plain = join(dir, name);
  return existsSync(plain) ? readFileSync(plain) : gunzipSync(readFileSync(`${plain}.gz`));
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

/** At most a few page records (8-byte header + 4 KiB each) on preempt: see the test. */
const PREEMPT_UNREAD_MAX = 16 * (8 + 4096);
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
    // A postcopy destination completes once it holds every page: the last page records of the
    // preempt channel (urgent copies of pages main also carries) may stay unread in its socket when
    // main delivered them first, which a loaded machine makes likely. Main is sent whole; on the
    // preempt channel a few trailing records may be left, never more (and the RAM is checked below).
    const [mainConn, preempt] = report.connections;
    t.is(mainConn!.bytesSent, mainConn!.bytesToSend, 'main: every byte sent');
    const unread = preempt!.bytesToSend - preempt!.bytesSent;
    t.true(unread >= 0 && unread <= PREEMPT_UNREAD_MAX, `postcopy-preempt: ${unread} bytes left unread by the completed destination`);
    t.true(wentThroughPostcopy(report), 'went through postcopy');
    const rp = report.connections[0]!.returnPath!;
    t.is(rp.shutStatus, 0, 'the destination said SHUT 0');
    t.true((rp.receivedCounts['REQ_PAGES'] ?? 0) + (rp.receivedCounts['REQ_PAGES_ID'] ?? 0) > 0, 'the replayed destination asked for pages');
    t.regex(text, /return path: \d+ messages, recorded \d+/);
    // --out: the replay as a capture; what came back is QEMU's own return path, and it round-trips.
    t.is(readFileSync(join(out, 'conn00.dst2src.bin')).length, report.connections[0]!.bytesReceived);
    // What --out kept of the preempt channel is the recording's, up to where sending stopped (see above).
    const sentPreempt = readFileSync(join(out, 'conn01.src2dst.bin'));
    t.true(sentPreempt.length >= preempt!.bytesSent, 'every byte sent on preempt is in --out');
    t.is(sha(sentPreempt), sha(channelFile(capture, 'conn01.src2dst.bin').subarray(0, sentPreempt.length)));
    const rt = new MemoryOutput();
    if (unread === 0) t.is(await main(['check', '--roundtrip', out], rt), 0, rt.lines.join('\n'));
    else {
      // Sending stopped inside the preempt channel: it may end inside a record there; every
      // other channel, and the preempt channel up to that point, must round-trip.
      await main(['check', '--roundtrip', '--json', out], rt);
      const chans = (JSON.parse(rt.lines[0]!) as { channels: Array<{ role: string; ok: boolean; bytes: number; decodeError?: { code: string; offset: number } }> }).channels;
      for (const ch of chans.filter((x) => x.role !== 'postcopy-preempt' && x.role !== 'empty')) t.true(ch.ok, `${ch.role} round-trips`);
      const pre = chans.find((x) => x.role === 'postcopy-preempt')!;
      t.true(pre.ok || (pre.decodeError?.code === 'TRUNCATED' && pre.decodeError.offset <= pre.bytes), `preempt: ${JSON.stringify(pre)}`);
    }
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
