/**
 * Interop: real QEMU migrations through a blind loopback relay, captured with real tcpdump (pcap)
 * and dumpcap (pcapng), read back by every command through @migwire/capture: each channel decodes,
 * its bytes equal what the relay forwarded (per connection and direction), `check` passes,
 * `extract` rebuilds pc.ram, and `migwire import` writes the same bytes as a capture directory.
 * MIGWIRE_WRITE_PCAP_FIXTURE=DIR also writes the small precopy's capture there (gzipped).
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { decodeCapture, openCapture, type Capture } from '@migwire/capture';
import { checkCapture } from '@migwire/sync';
import { main, MemoryOutput, runExtract } from 'migwire';
import { makeBootDisk, MiB } from './harness/guest.js';
import { pmemsaveAll } from './harness/memory.js';
import { DEFAULT_HOLD, POSTCOPY_HOLD, launchVm, QEMU_REQUIRED, caseSettings, requireQemu, runMigration, whenQemu, type HoldControl, type QemuVersion, type Vm } from './harness/qemu.js';
import { CapturedRelay, haveCommand, type PacketCapturer, type RelayedConnection } from './harness/relay-capture.js';
import { differencesFromTshark } from './harness/tshark-follow.js';

interface Case {
  name: string;
  qemu: QemuVersion;
  tool: PacketCapturer;
  /** Gzip the capture before reading it (the .gz path). */
  gzip?: boolean;
  memMiB: number;
  machine?: string;
  caps?: Record<string, boolean>;
  params?: Record<string, unknown>;
  srcParams?: Record<string, unknown>;
  hold?: HoldControl | null;
  postcopy?: boolean;
  roles: string[];
  /** Where the extracted pc.ram must come from: the stopped destination, or (postcopy) the source's RAM at switchover. */
  fixture?: string;
}

const MULTIFD4 = { 'multifd-channels': 4 };
const SLOW: HoldControl = { ...DEFAULT_HOLD, params: { 'downtime-limit': 1, 'max-bandwidth': 4 * MiB } };
const POSTCOPY = POSTCOPY_HOLD;
const PREEMPT = { 'postcopy-ram': true, 'postcopy-preempt': true };
const MF4 = ['main', 'multifd 0', 'multifd 1', 'multifd 2', 'multifd 3'];

const cases: Case[] = [
  { name: '10.0 precopy, tcpdump', qemu: '10.0', tool: 'tcpdump', memMiB: 16, hold: null, roles: ['main'], fixture: '10.0-precopy-pcap' },
  { name: '10.0 multifd 4 none, dumpcap', qemu: '10.0', tool: 'dumpcap', memMiB: 64, caps: { multifd: true }, params: MULTIFD4, roles: MF4 },
  { name: '10.0 multifd 4 zstd, tcpdump, gzipped', qemu: '10.0', tool: 'tcpdump', gzip: true, memMiB: 64, caps: { multifd: true }, params: { ...MULTIFD4, 'multifd-compression': 'zstd' }, hold: SLOW, roles: MF4 },
  { name: '10.0 postcopy-preempt, dumpcap', qemu: '10.0', tool: 'dumpcap', memMiB: 64, caps: PREEMPT, srcParams: { 'max-postcopy-bandwidth': 16 * MiB }, hold: POSTCOPY, postcopy: true, roles: ['main', 'postcopy-preempt'] },
  { name: '10.0 return-path + switchover-ack, tcpdump', qemu: '10.0', tool: 'tcpdump', memMiB: 64, caps: { 'return-path': true, 'switchover-ack': true }, roles: ['main'] },
  { name: '7.2 precopy, dumpcap', qemu: '7.2', tool: 'dumpcap', memMiB: 64, machine: 'pc-q35-7.2', roles: ['main'] },
  {
    name: '11.1 multifd 4 + postcopy-preempt, tcpdump',
    qemu: '11.1',
    tool: 'tcpdump',
    memMiB: 64,
    caps: { multifd: true, ...PREEMPT },
    params: MULTIFD4,
    srcParams: { 'max-postcopy-bandwidth': 16 * MiB },
    hold: POSTCOPY,
    postcopy: true,
    roles: [...MF4, 'postcopy-preempt'],
  },
];

const sha = (b: Buffer | Uint8Array): string => createHash('sha256').update(b).digest('hex');
const toolsPresent = haveCommand('tcpdump') && haveCommand('dumpcap') && haveCommand('tshark');

async function gzipFile(from: string, to: string): Promise<void> {
  await pipeline(createReadStream(from), createGzip({ level: 9 }), createWriteStream(to));
}

/** Every channel of the capture decoded once, hashing its bytes on the way. */
async function decodeAll(capture: Capture): Promise<{ errors: string[]; skipped: string[]; hashes: Map<string, string>; decoded: string[] }> {
  const hashes = new Map<string, ReturnType<typeof createHash>>();
  const key = (conn: number, dir: string): string => `${conn}.${dir}`;
  for (const ch of capture.channels) hashes.set(key(ch.conn, ch.direction), createHash('sha256'));
  const results = await decodeCapture(capture, { onChunk: (ch, b) => void hashes.get(key(ch.conn, ch.direction))!.update(b), onRecord: () => {} });
  return {
    errors: results.filter((r) => r.error).map((r) => `${r.channel.name}: ${r.error!.message}`),
    skipped: results.filter((r) => r.skipped && r.channel.role !== 'empty').map((r) => `${r.channel.name}: ${r.skipped}`),
    decoded: results.filter((r) => !r.skipped && r.channel.direction === 'src2dst').map((r) => r.channel.name).sort(),
    hashes: new Map([...hashes].map(([k, h]) => [k, h.digest('hex')])),
  };
}

/** The capture's connection for a relayed one: the relay's outgoing port is the captured source port. */
function capturedConn(capture: Capture, relayed: RelayedConnection): number {
  return capture.pcap!.migration.connections.findIndex((c) => c.src.port === relayed.capturedPort);
}

for (const c of cases) {
  const declare = toolsPresent || QEMU_REQUIRED ? whenQemu(test.serial, c.qemu) : test.serial.skip;
  declare(`${c.name}: every channel decodes byte-exactly against the relay, check passes, extract rebuilds pc.ram`, async (t) => {
    if (!requireQemu(t, c.qemu)) return;
    if (!toolsPresent) return t.fail('tcpdump, dumpcap and tshark are needed (CI=true): run .ci/install-qemu.sh');
    const dir = mkdtempSync(join(tmpdir(), 'mw-pcap-interop-'));
    const raw = join(dir, c.tool === 'tcpdump' ? 'capture.pcap' : 'capture.pcapng');
    const disk = makeBootDisk({ startMiB: 1, endMiB: Math.min(9, c.memMiB / 2) });
    let src: Vm | undefined;
    let dst: Vm | undefined;
    const relay = new CapturedRelay(c.tool, raw);
    try {
      const machine = c.machine ? { machine: c.machine } : {};
      src = await launchVm({ version: c.qemu, role: 'source', memMiB: c.memMiB, bootDisk: disk, ...machine });
      dst = await launchVm({ version: c.qemu, role: 'destination', memMiB: c.memMiB, bootDisk: disk, ...machine, ...(c.postcopy ? { paused: false } : {}) });
      const r = await runMigration({
        source: src,
        destination: dst,
        ...caseSettings(c),
        hold: c.hold === undefined ? DEFAULT_HOLD : c.hold,
        pollMs: 50,
        interpose: async (uri) => `tcp:127.0.0.1:${await relay.start({ host: '127.0.0.1', port: Number(/:(\d+)$/.exec(uri)![1]) })}`,
      });
      t.is(r.status, 'completed', r.reason ?? '');
      // Precopy: the stopped destination's RAM; postcopy (the destination runs on): the source's at switchover.
      const expectedRam = sha(await pmemsaveAll((c.postcopy ? src : dst).qmp, c.memMiB, join(dir, 'ram.bin')));
      await src.stop();
      await dst.stop();
      await relay.stop();

      let file = raw;
      if (c.gzip) await gzipFile(raw, (file = `${raw}.gz`));
      const capture = await openCapture(file);
      t.is(capture.kind, 'pcap');
      t.is(capture.pcap!.index.missingBytes, 0, 'the capture lost nothing');
      // Our reassembly equals Wireshark's on every connection and direction.
      t.deepEqual(await differencesFromTshark(file, capture.pcap!.index), []);
      const d = await decodeAll(capture);
      t.deepEqual(d.errors, []);
      t.deepEqual(d.skipped, []);
      t.deepEqual(d.decoded, [...c.roles].sort());
      // Byte-exact per connection and direction against what the relay forwarded.
      t.is(capture.pcap!.migration.connections.length, relay.connections.length);
      for (const rc of relay.connections) {
        const conn = capturedConn(capture, rc);
        t.true(conn >= 0, `relayed connection from port ${rc.capturedPort} is in the capture`);
        t.is(d.hashes.get(`${conn}.src2dst`), sha(Buffer.concat(rc.src2dst)), `conn${conn} src2dst`);
        t.is(d.hashes.get(`${conn}.dst2src`), sha(Buffer.concat(rc.dst2src)), `conn${conn} dst2src`);
      }

      const checked = await checkCapture(await openCapture(file));
      t.true(checked.ok, JSON.stringify(checked.rules.filter((x) => x.status === 'fail')));
      if (c.roles.length > 2) t.is(checked.rules.find((x) => x.id === 'sync-per-flush')?.status, 'pass');
      const rep = await runExtract(file, { outDir: join(dir, 'ram'), blocks: ['pc.ram'], quiet: true });
      t.deepEqual(rep.errors, []);
      t.is(sha(readFileSync(join(dir, 'ram', 'pc.ram.img'))), expectedRam, 'extracted pc.ram equals the destination RAM');

      // `migwire import` writes the same bytes as a capture directory that round-trips.
      const imported = join(dir, 'imported');
      const io = new MemoryOutput();
      t.is(await main(['import', file, '--out', imported], io), 0, io.lines.join('\n'));
      for (const rc of relay.connections) {
        const conn = String(capturedConn(capture, rc)).padStart(2, '0');
        t.is(sha(readFileSync(join(imported, `conn${conn}.src2dst.bin`))), sha(Buffer.concat(rc.src2dst)));
        t.is(sha(readFileSync(join(imported, `conn${conn}.dst2src.bin`))), sha(Buffer.concat(rc.dst2src)));
      }
      const rt = new MemoryOutput();
      t.is(await main(['check', '--roundtrip', imported], rt), 0, rt.lines.join('\n'));

      const keep = process.env['MIGWIRE_WRITE_PCAP_FIXTURE'];
      if (keep && c.fixture) {
        mkdirSync(join(keep, c.fixture), { recursive: true });
        await gzipFile(raw, join(keep, c.fixture, c.tool === 'tcpdump' ? 'capture.pcap.gz' : 'capture.pcapng.gz'));
      }
    } finally {
      await src?.stop();
      await dst?.stop();
      await relay.stop(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
