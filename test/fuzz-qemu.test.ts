/**
 * `migwire fuzz qemu` against a real QEMU 10.0 destination: a CI-sized campaign where every
 * outcome is classified and every rejection carries QEMU's own words, a known-bad input that must
 * be rejected with the right message, and the crash and hang classifications checked on a
 * destination that is killed by a signal or never gets its stream.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeMainRecord, encodeMainStream } from '@migwire/stream-codec';
import { loadInQemu, loadSeed, main, MemoryOutput, OUTCOMES, reduceSeed, type QemuCampaignReport, type QemuInputResult } from 'migwire';
import { qemuBinary, requireQemu } from './harness/qemu.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PRECOPY = join(ROOT, 'fixtures', '10.0-precopy-file');
const have = qemuBinary('10.0') !== null || process.env['CI'] === 'true';
const qtest = have ? test.serial : test.serial.skip;

qtest('fuzz qemu: 20 mutants of a real stream, every outcome classified, rejections carry QEMU\'s message', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mw-fuzzq-'));
  try {
    const o = new MemoryOutput();
    const code = await main(['fuzz', 'qemu', '--seeds', PRECOPY, '--count', '20', '--seed', '100', '--timeout', '15000', '--out', dir, '--json', '--quiet'], o);
    const report = JSON.parse(o.lines.join('\n')) as QemuCampaignReport;
    t.is(report.inputs, 20);
    t.regex(report.qemu.versionString, /QEMU emulator version 10\.0/);
    t.is(OUTCOMES.reduce((n, k) => n + report.outcomes[k], 0), 20);
    const results = readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as QemuInputResult);
    t.is(results.length, 20);
    for (const r of results) {
      t.true(OUTCOMES.includes(r.outcome), `input ${r.index}: ${r.outcome}`);
      t.truthy(r.mutation, `input ${r.index} records its mutation`);
      if (r.outcome === 'rejected') t.true(r.message.length > 0 && !/^QEMU exited/.test(r.message), `input ${r.index} (${r.mutation?.kind}) rejected with QEMU's message: ${r.message}`);
      if (r.outcome === 'crashed' || r.outcome === 'hung') t.truthy(r.reproduce, 'kept with a reproduction command');
    }
    t.true(report.outcomes.rejected > 0, 'most structure mutations are refused');
    t.is(code, report.findings.length ? 1 : 0);
    t.log(`outcomes: ${JSON.stringify(report.outcomes)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

qtest('a stream naming a device the destination does not have is rejected with QEMU\'s reason', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const seed = await loadSeed(PRECOPY);
  if (seed.channel !== 'main') throw new Error('main seed expected');
  const apic = seed.records.find((r) => r.kind === 'section' && r.idstr === 'apic')!;
  const bad = encodeMainRecord({ ...(apic as Extract<typeof apic, { kind: 'section' }>), idstr: 'no-such-device' });
  const bytes = Buffer.concat([seed.bytes.subarray(0, apic.offset), bad, seed.bytes.subarray(apic.offset + apic.length)]);
  const dir = mkdtempSync(join(tmpdir(), 'mw-fuzzq-'));
  try {
    const file = join(dir, 'bad.bin');
    writeFileSync(file, bytes);
    const out = await loadInQemu(file, { qemu: '10.0', target: seed.target!, timeoutMs: 15_000 });
    t.is(out.outcome, 'rejected');
    t.regex(out.message, /Unknown savevm section or instance 'no-such-device'/);
    // And the seed itself loads.
    writeFileSync(file, seed.bytes);
    t.is((await loadInQemu(file, { qemu: '10.0', target: seed.target!, timeoutMs: 15_000 })).outcome, 'loaded');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

qtest('a destination killed by a signal is "crashed" with the signal; one that never gets its stream is "hung"', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const target = (await loadSeed(PRECOPY)).target!;
  const dir = mkdtempSync(join(tmpdir(), 'mw-fuzzq-'));
  const fifo = join(dir, 'never-written');
  execFileSync('mkfifo', [fifo]);
  try {
    const hung = await loadInQemu(fifo, { qemu: '10.0', target, timeoutMs: 1500 });
    t.is(hung.outcome, 'hung');
    t.regex(hung.message, /no outcome after 1500 ms/);
    const crashed = await loadInQemu(fifo, {
      qemu: '10.0',
      target,
      timeoutMs: 15_000,
      onLaunched: (vm) => {
        setTimeout(() => process.kill(vm.pid, 'SIGSEGV'), 500);
      },
    });
    t.is(crashed.outcome, 'crashed');
    t.is(crashed.signal, 'SIGSEGV');
    t.is(crashed.phase, 'load');
  } finally {
    // Let the `cat`s QEMU left behind see end of file and exit.
    for (let i = 0; i < 4; i++) {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        break;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

// Found by `migwire fuzz qemu --qemu 7.2` (command-payload, minimised from 13 MB to these 29 bytes):
// MIG_CMD_ENABLE_COLO in a precopy stream, without the x-colo capability, puts a QEMU 7.2
// destination into the "colo" state for good; QEMU 10.0 refuses the command.
const coloStream = (): Uint8Array =>
  encodeMainStream([
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'configuration', machine: 'pc-q35-7.2', subsections: [] },
    { kind: 'command', command: 8, name: 'ENABLE_COLO', payload: new Uint8Array(0), args: { command: 'ENABLE_COLO' } },
    { kind: 'eof' },
  ]);

(qemuBinary('7.2') !== null || process.env['CI'] === 'true' ? test.serial : test.serial.skip)('ENABLE_COLO without x-colo: QEMU 7.2 hangs in "colo", QEMU 10.0 rejects it', async (t) => {
  if (!requireQemu(t, '7.2') || !requireQemu(t, '10.0')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mw-fuzzq-'));
  try {
    const file = join(dir, 'colo.bin');
    const bytes = coloStream();
    t.is(bytes.length, 29);
    writeFileSync(file, bytes);
    const target = { machine: 'pc-q35-7.2', memMiB: 32, caps: {}, devices: [] };
    const old = await loadInQemu(file, { qemu: '7.2', target: { ...target, qemu: '7.2' }, timeoutMs: 3000 });
    t.is(old.outcome, 'hung');
    t.is(old.status, 'colo');
    const now = await loadInQemu(file, { qemu: '10.0', target: { ...target, qemu: '10.0' }, timeoutMs: 15_000 });
    t.is(now.outcome, 'rejected');
    t.regex(now.message, /ENABLE_COLO command come in migration stream, but x-colo capability is not set/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

(qemuBinary('10.0') !== null || process.env['CI'] === 'true' ? test.serial : test.serial.skip)('a seed from a guest with devices is loaded into a destination with the same devices (taken from its meta.json)', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mw-fuzzq-'));
  try {
    const seed = await loadSeed(join(ROOT, 'fixtures', '10.0-devices-file'));
    const devices = seed.target?.devices ?? [];
    t.true(devices.includes('virtio-net-pci,netdev=n0,romfile='), devices.join(' '));
    t.true(devices.includes('user,id=n0'), 'the backends the devices need come along');
    t.false(devices.some((a) => a.includes('.qcow2') || a.includes('qmp')), 'no files of the recording, no monitors');
    const file = join(dir, 'seed.bin');
    writeFileSync(file, seed.bytes);
    const r = await loadInQemu(file, { qemu: '10.0', target: seed.target!, timeoutMs: 30_000 });
    t.is(r.outcome, 'loaded', r.message);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

(qemuBinary('10.0') !== null || process.env['CI'] === 'true' ? test.serial : test.serial.skip)('a reduced seed keeps the guest firmware QEMU needs to load it (kvm-tpr-opt refused every one without)', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mw-fuzzq-'));
  try {
    for (const name of ['10.0-precopy-file', '10.0-devices-file']) {
      const seed = await loadSeed(join(ROOT, 'fixtures', name));
      const reduced = reduceSeed(seed);
      t.true(reduced.bytes.length < seed.bytes.length / 10, `${name}: ${reduced.bytes.length} of ${seed.bytes.length} bytes`);
      const file = join(dir, `${name}.bin`);
      writeFileSync(file, reduced.bytes);
      const r = await loadInQemu(file, { qemu: '10.0', target: seed.target!, timeoutMs: 30_000 });
      t.is(r.outcome, 'loaded', `${name}: ${r.message}`);
    }
    // Without the firmware (what `fuzz codec` feeds its own decoders) it is smaller still.
    const plain = reduceSeed(await loadSeed(join(ROOT, 'fixtures', '10.0-precopy-file')), { firmware: false });
    t.true(plain.bytes.length < 200_000, `${plain.bytes.length} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
