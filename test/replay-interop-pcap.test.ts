/**
 * Interop: `migwire replay` of tcpdump captures into real QEMU 10.0. A pcap has no meta.json: the
 * destination's machine type and RAM size come from the stream (CONFIGURATION record, RAM block
 * list) and its capabilities and parameters are inferred from the capture. Each replay must reach
 * `completed` with the destination's RAM identical (sha256 of pmemsave) to the pc.ram `migwire
 * extract` rebuilds from the same pcap: the bundled precopy capture (library and `--setup`), and a
 * multifd 4 zstd migration captured here with real tcpdump through a blind relay.
 */
import test from 'ava';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { main, MemoryOutput, replayIntoFreshQemu, runExtract } from 'migwire';
import { makeBootDisk, MiB } from './harness/guest.js';
import { pmemsaveAll } from './harness/memory.js';
import { DEFAULT_HOLD, launchVm, requireQemu, runMigration, whenQemu, type HoldControl, type Vm } from './harness/qemu.js';
import { CapturedRelay, haveCommand } from './harness/relay-capture.js';
import { assertAllSent, root, sha } from './helpers/replay.js';

const PCAP = join(root, 'fixtures', '10.0-precopy-pcap', 'capture.pcap.gz');

/** sha256 of the pc.ram `migwire extract` rebuilds from a capture. */
async function extractedRam(capture: string, scratch: string): Promise<{ sha: string; bytes: number }> {
  const rep = await runExtract(capture, { outDir: join(scratch, 'ram'), blocks: ['pc.ram'], quiet: true });
  if (rep.errors.length) throw new Error(`extract: ${rep.errors.join('; ')}`);
  const img = readFileSync(join(scratch, 'ram', 'pc.ram.img'));
  return { sha: sha(img), bytes: img.length };
}

whenQemu(test.serial, '10.0')('the bundled tcpdump capture replayed into a fresh 10.0: machine and RAM size from the stream, completed, RAM = extract of the pcap', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const scratch = mkdtempSync(join(tmpdir(), 'mw-replay-pcap-'));
  try {
    const expected = await extractedRam(PCAP, scratch);
    t.is(expected.bytes, 16 * MiB);
    // No version, machine, RAM size or settings given: all from the capture.
    const { report, ramSha256, qemuOutput } = await replayIntoFreshQemu(PCAP);
    t.is(report.outcome, 'completed', `${report.reason ?? ''}\n${qemuOutput}`);
    t.is(report.destination?.status, 'completed');
    t.is(report.connections.length, 1);
    assertAllSent(t, report);
    t.true(report.connections[0]!.bytesSent > 16 * MiB / 4);
    t.deepEqual(report.settings?.inferred, []);
    t.is(ramSha256, expected.sha, 'replayed RAM = pc.ram extracted from the pcap');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

whenQemu(test.serial, '10.0')('migwire replay PCAP --qmp --setup: a bare destination set up from what the capture shows, completed, RAM = extract', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const scratch = mkdtempSync(join(tmpdir(), 'mw-replay-pcap-'));
  const qmpSock = join(scratch, 'qmp.sock');
  const dst = await launchVm({ version: '10.0', role: 'destination', memMiB: 16, machine: 'pc-q35-10.0', bootDisk: makeBootDisk({ startMiB: 1, endMiB: 8 }), extraArgs: ['-qmp', `unix:${qmpSock},server=on,wait=off`] });
  try {
    const out = new MemoryOutput();
    const code = await main(['replay', PCAP, '--qmp', qmpSock, '--setup', '--timing', 'recorded'], out);
    t.is(code, 0, [...out.lines, ...out.errors].join('\n'));
    t.regex(out.errors.join('\n'), /destination set up \(caps \{\}, params \{\}\), listening on 127\.0\.0\.1:\d+/);
    t.regex(out.lines[0]!, /\(timing recorded, speed 1\)/);
    t.true(out.lines.includes('settings inferred from the capture (it has no meta.json):'));
    t.regex(out.lines.join('\n'), /replay: completed/);
    t.is(sha(await pmemsaveAll(dst.qmp, 16, join(scratch, 'ram.bin'))), (await extractedRam(PCAP, scratch)).sha);
  } finally {
    await dst.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
});

const SLOW: HoldControl = { ...DEFAULT_HOLD, params: { 'downtime-limit': 1, 'max-bandwidth': 4 * MiB } };
const haveTcpdump = haveCommand('tcpdump');

(haveTcpdump ? whenQemu(test.serial, '10.0') : test.serial.skip)('a multifd 4 zstd migration captured with tcpdump through a relay, replayed with inferred settings: completed, RAM = the original destination\'s', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mw-replay-pcap-mf-'));
  const raw = join(dir, 'capture.pcap');
  const mem = 64;
  const disk = makeBootDisk({ startMiB: 1, endMiB: 9 });
  const relay = new CapturedRelay('tcpdump', raw);
  let src: Vm | undefined;
  let dst: Vm | undefined;
  try {
    src = await launchVm({ version: '10.0', role: 'source', memMiB: mem, bootDisk: disk });
    dst = await launchVm({ version: '10.0', role: 'destination', memMiB: mem, bootDisk: disk });
    const r = await runMigration({
      source: src, destination: dst, caps: { multifd: true }, params: { 'multifd-channels': 4, 'multifd-compression': 'zstd' }, hold: SLOW, pollMs: 50,
      interpose: async (uri) => `tcp:127.0.0.1:${await relay.start({ host: '127.0.0.1', port: Number(/:(\d+)$/.exec(uri)![1]) })}`,
    });
    t.is(r.status, 'completed', r.reason ?? '');
    const original = sha(await pmemsaveAll(dst.qmp, mem, join(dir, 'ram.bin')));
    await src.stop();
    await dst.stop();
    await relay.stop();
    const file = `${raw}.gz`;
    await pipeline(createReadStream(raw), createGzip(), createWriteStream(file));
    t.is((await extractedRam(file, dir)).sha, original, 'the capture is whole');

    const { report, ramSha256, qemuOutput } = await replayIntoFreshQemu(file);
    t.is(report.outcome, 'completed', `${report.reason ?? ''}\n${qemuOutput}`);
    // Connections open in the captured order: main, then the multifd channels in whatever order
    // QEMU happened to connect them.
    t.is(report.connections[0]!.name, 'main');
    t.deepEqual(report.connections.slice(1).map((c) => c.name).sort(), ['multifd 0', 'multifd 1', 'multifd 2', 'multifd 3']);
    assertAllSent(t, report);
    t.deepEqual(report.settings?.inferred.map((s) => `${s.setting}=${s.value}`), ['multifd=true', 'multifd-channels=4', 'multifd-compression=zstd']);
    t.is(ramSha256, original, 'replayed RAM = the original destination\'s');
  } finally {
    await src?.stop();
    await dst?.stop();
    await relay.stop(0);
    rmSync(dir, { recursive: true, force: true });
  }
});
