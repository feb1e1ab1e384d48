/**
 * Interop: source QEMU -> `migwire record` (RecordingProxy) -> destination QEMU, for the
 * configurations people run. Each migration must complete with the destination's RAM equal to
 * the source's (pmemsave), the guest must keep running on the destination, the proxy must account
 * for every byte, and the recording must decode, round-trip and extract to the destination's RAM.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientTlsOptions, generateTlsCredentials, qemuTlsObjectArgs, RecordingProxy, serverTlsOptions, writeQemuTlsDir } from '@migwire/channel-manager';
import { openCapture, type TcpProxyIndex } from '@migwire/capture';
import { checkCapture, LiveChecker } from '@migwire/sync';
import { switchoverAckMode } from '@migwire/stream-codec';
import { main, MemoryOutput, runExtract } from 'migwire';
import { writeFileSync } from 'node:fs';
import { makeBootDisk, MiB } from './harness/guest.js';
import { compareMemory, pmemsaveAll, pmemsaveRegion, verifyPattern } from './harness/memory.js';
import { DEFAULT_HOLD, POSTCOPY_HOLD, launchVm, qemuBinary, caseSettings, requireQemu, runMigration, type HoldControl, type QemuVersion, type Vm } from './harness/qemu.js';

interface Case {
  name: string;
  src: QemuVersion;
  dst: QemuVersion;
  machine?: string;
  caps?: Record<string, boolean>;
  params?: Record<string, unknown>;
  srcParams?: Record<string, unknown>;
  hold?: HoldControl;
  /** Roles the recording must show. */
  roles: string[];
  /** Postcopy: the destination runs during the migration (its faults drive the preempt channel). */
  postcopy?: boolean;
  /** x509 TLS between QEMU and the proxy: terminated (plaintext recorded) or passed through. */
  tls?: 'terminate' | 'passthrough';
  /** `record --direct-io`: the channel files written with O_DIRECT. */
  directIo?: boolean;
}

const MULTIFD4 = { 'multifd-channels': 4 };
const MULTIFD_ROLES = ['main', 'multifd', 'multifd', 'multifd', 'multifd'];
const SLOW_COMPRESSED: HoldControl = { ...DEFAULT_HOLD, params: { 'downtime-limit': 1, 'max-bandwidth': 1 * MiB } };
const POSTCOPY = POSTCOPY_HOLD;

const cases: Case[] = [
  { name: '10.0 precopy', src: '10.0', dst: '10.0', roles: ['main'] },
  { name: '10.0 multifd 4 none', src: '10.0', dst: '10.0', caps: { multifd: true }, params: MULTIFD4, roles: ['main', 'multifd', 'multifd', 'multifd', 'multifd'] },
  { name: '10.0 multifd 4 zlib', src: '10.0', dst: '10.0', caps: { multifd: true }, params: { ...MULTIFD4, 'multifd-compression': 'zlib' }, hold: SLOW_COMPRESSED, roles: ['main', 'multifd', 'multifd', 'multifd', 'multifd'] },
  { name: '10.0 multifd 4 zstd', src: '10.0', dst: '10.0', caps: { multifd: true }, params: { ...MULTIFD4, 'multifd-compression': 'zstd' }, hold: SLOW_COMPRESSED, roles: ['main', 'multifd', 'multifd', 'multifd', 'multifd'] },
  { name: '10.0 multifd 4 none, --direct-io', src: '10.0', dst: '10.0', caps: { multifd: true }, params: MULTIFD4, roles: MULTIFD_ROLES, directIo: true },
  { name: '10.0 postcopy', src: '10.0', dst: '10.0', caps: { 'postcopy-ram': true }, srcParams: { 'max-postcopy-bandwidth': 16 * MiB }, hold: POSTCOPY, roles: ['main'], postcopy: true },
  { name: '10.0 postcopy-preempt', src: '10.0', dst: '10.0', caps: { 'postcopy-ram': true, 'postcopy-preempt': true }, srcParams: { 'max-postcopy-bandwidth': 16 * MiB }, hold: POSTCOPY, roles: ['main', 'postcopy-preempt'], postcopy: true },
  { name: '10.0 return-path + switchover-ack', src: '10.0', dst: '10.0', caps: { 'return-path': true, 'switchover-ack': true }, roles: ['main'] },
  { name: '10.0 TLS + multifd 4, terminated by the proxy', src: '10.0', dst: '10.0', caps: { multifd: true }, params: { ...MULTIFD4, 'tls-creds': 'tls0' }, tls: 'terminate', roles: ['main', 'multifd', 'multifd', 'multifd', 'multifd'] },
  { name: '10.0 TLS + multifd 4, passed through (roles by order)', src: '10.0', dst: '10.0', caps: { multifd: true }, params: { ...MULTIFD4, 'tls-creds': 'tls0' }, tls: 'passthrough', roles: ['main(tls)', 'multifd(tls)', 'multifd(tls)', 'multifd(tls)', 'multifd(tls)'] },
  { name: '7.2 precopy', src: '7.2', dst: '7.2', machine: 'pc-q35-7.2', roles: ['main'] },
  { name: '7.2 multifd 4 zstd', src: '7.2', dst: '7.2', machine: 'pc-q35-7.2', caps: { multifd: true }, params: { ...MULTIFD4, 'multifd-compression': 'zstd' }, hold: SLOW_COMPRESSED, roles: ['main', 'multifd', 'multifd', 'multifd', 'multifd'] },
  { name: '7.2 -> 10.0 precopy', src: '7.2', dst: '10.0', machine: 'pc-q35-7.2', roles: ['main'] },
  { name: '11.1 precopy', src: '11.1', dst: '11.1', roles: ['main'] },
  { name: '11.1 multifd 4 zstd', src: '11.1', dst: '11.1', caps: { multifd: true }, params: { ...MULTIFD4, 'multifd-compression': 'zstd' }, hold: SLOW_COMPRESSED, roles: MULTIFD_ROLES },
  { name: '10.0 postcopy-preempt, --direct-io', src: '10.0', dst: '10.0', caps: { 'postcopy-ram': true, 'postcopy-preempt': true }, srcParams: { 'max-postcopy-bandwidth': 16 * MiB }, hold: POSTCOPY, roles: ['main', 'postcopy-preempt'], postcopy: true, directIo: true },
  { name: '11.1 postcopy-preempt', src: '11.1', dst: '11.1', caps: { 'postcopy-ram': true, 'postcopy-preempt': true }, srcParams: { 'max-postcopy-bandwidth': 16 * MiB }, hold: POSTCOPY, roles: ['main', 'postcopy-preempt'], postcopy: true },
  // multifd and postcopy together exist from 10.1 on: 11.1 only (a faster postcopy keeps the runtime down).
  { name: '11.1 multifd 4 + postcopy', src: '11.1', dst: '11.1', caps: { multifd: true, 'postcopy-ram': true }, params: MULTIFD4, srcParams: { 'max-postcopy-bandwidth': 64 * MiB }, hold: POSTCOPY, roles: MULTIFD_ROLES, postcopy: true },
  { name: '11.1 multifd 4 + postcopy + preempt', src: '11.1', dst: '11.1', caps: { multifd: true, 'postcopy-ram': true, 'postcopy-preempt': true }, params: MULTIFD4, srcParams: { 'max-postcopy-bandwidth': 64 * MiB }, hold: POSTCOPY, roles: [...MULTIFD_ROLES, 'postcopy-preempt'], postcopy: true },
  { name: '11.1 return-path + switchover-ack, machine pc-q35-11.0 (legacy ACK)', src: '11.1', dst: '11.1', machine: 'pc-q35-11.0', caps: { 'return-path': true, 'switchover-ack': true }, roles: ['main'] },
  { name: '11.1 return-path + switchover-ack, machine pc-q35-11.1 (per-device ACKs)', src: '11.1', dst: '11.1', caps: { 'return-path': true, 'switchover-ack': true }, roles: ['main'] },
  { name: '10.0 -> 11.1 precopy', src: '10.0', dst: '11.1', machine: 'pc-q35-10.0', roles: ['main'] },
  { name: '7.2 -> 11.1 precopy', src: '7.2', dst: '11.1', machine: 'pc-q35-7.2', roles: ['main'] },
];

const MEM = 128;

/** A recording that fails to round-trip is a codec bug: keep it (MIGWIRE_KEEP_FAILED=DIR) to study. */
function keepForDiagnosis(capture: string, name: string): void {
  const keep = process.env['MIGWIRE_KEEP_FAILED'];
  if (keep) cpSync(capture, join(keep, name.replace(/[^A-Za-z0-9.-]+/g, '_')), { recursive: true });
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

for (const c of cases) {
  const have = (qemuBinary(c.src) && qemuBinary(c.dst)) || process.env['CI'] === 'true';
  (have ? test.serial : test.serial.skip)(`${c.name} through migwire record: completes, memory verified, every byte recorded`, async (t) => {
    if (!requireQemu(t, c.src) || !requireQemu(t, c.dst)) return;
    const dir = mkdtempSync(join(tmpdir(), 'mw-record-'));
    const capture = join(dir, 'capture');
    const disk = makeBootDisk({ startMiB: 1, endMiB: 9 });
    let src: Vm | undefined;
    let dst: Vm | undefined;
    let proxy: RecordingProxy | undefined;
    const live = new LiveChecker();
    try {
      const creds = c.tls ? generateTlsCredentials() : undefined;
      const tlsDir = join(dir, 'tls');
      if (creds) writeQemuTlsDir(tlsDir, creds);
      const tlsArgs = (endpoint: 'client' | 'server'): { extraArgs?: string[] } => (creds ? { extraArgs: qemuTlsObjectArgs({ dir: tlsDir, endpoint }) } : {});
      src = await launchVm({ version: c.src, role: 'source', memMiB: MEM, bootDisk: disk, ...tlsArgs('client'), ...(c.machine ? { machine: c.machine } : {}) });
      dst = await launchVm({ version: c.dst, role: 'destination', memMiB: MEM, bootDisk: disk, ...tlsArgs('server'), ...(c.postcopy ? { paused: false } : {}), ...(c.machine ? { machine: c.machine } : {}) });
      const r = await runMigration({
        source: src,
        destination: dst,
        // Postcopy: the MIGRATION events too, since a small guest's postcopy phase can be shorter than a poll.
        ...caseSettings(c.postcopy ? { ...c, caps: { ...c.caps, events: true } } : c),
        hold: c.hold ?? DEFAULT_HOLD,
        pollMs: 50,
        interpose: async (uri) => {
          const m = /:(\d+)$/.exec(uri)!;
          proxy = new RecordingProxy({
            listen: { host: '127.0.0.1', port: 0 },
            target: { host: '127.0.0.1', port: Number(m[1]) },
            outDir: capture,
            onChunk: (conn, dirn, chunk, tt) => live.onChunk(conn, dirn, chunk, tt),
            ...(c.directIo ? { directIo: true } : {}),
            ...(creds && c.tls === 'terminate' ? { tls: { server: serverTlsOptions(creds), client: clientTlsOptions(creds, '127.0.0.1') } } : {}),
          });
          proxy.on('role', (id: number, role: string, multifdId?: number) => live.onRole(id, role, multifdId));
          const a = await proxy.start();
          return `tcp:127.0.0.1:${a.port}`;
        },
      });
      t.is(r.status, 'completed', r.reason ?? '');
      t.is(r.src_status, 'completed');
      t.is(r.dst_status, 'completed');
      t.true((r.dirty_sync_count ?? 0) >= 2, 'several RAM rounds');
      if (c.postcopy) {
        const polled = r.timeline.some((e) => e.event === 'src-status' && e['status'] === 'postcopy-active');
        const evented = src.qmp.events.some((e) => e.event === 'MIGRATION' && (e.data as { status?: string } | undefined)?.status === 'postcopy-active');
        t.true(polled || evented, 'the source went through postcopy-active (a polled status or its MIGRATION event)');
      }

      // Destination RAM equals the stopped source's (postcopy: the destination already runs on).
      const srcRam = await pmemsaveAll(src.qmp, MEM, join(dir, 'src.bin'));
      if (!c.postcopy) {
        const dstRam = await pmemsaveAll(dst.qmp, MEM, join(dir, 'dst.bin'));
        const cmp = compareMemory(srcRam, dstRam);
        t.true(cmp.ok, `${cmp.differing_pages} pages differ`);
        t.true(verifyPattern(dstRam, 1, 9).ok);
      }

      // The destination runs on.
      if ((await dst.runState()) !== 'running') await dst.qmp.execute('cont');
      const before = dst.countMarkers();
      await dst.waitForMarkers(before + 100, 20_000);
      await dst.qmp.execute('stop');
      t.true(verifyPattern(await pmemsaveRegion(dst.qmp, 1, 9, join(dir, 'region.bin')), 1, 9).ok, 'guest pattern after running on the destination');

      // The proxy accounted for every byte.
      await src.stop();
      await dst.stop();
      const index: TcpProxyIndex = await proxy!.close(3000);
      t.true(index.all_recorded_equals_forwarded, 'received = forwarded = written on every connection');
      const carried = index.roles.filter((x) => x.src2dst_bytes > 0).map((x) => x.role);
      const silentPreempt = c.roles.includes('postcopy-preempt') && !carried.includes('postcopy-preempt');
      if (silentPreempt) {
        // QEMU opens the preempt channel at the switch, but it carries only pages the destination
        // asked for: in a short postcopy phase (11.1, multifd pushing the rest) it may ask for none.
        t.is(index.roles.filter((x) => x.role === 'empty' && x.src2dst_bytes === 0).length, 1, 'the preempt connection was opened, silent');
        t.log('the postcopy-preempt connection carried no page (none was requested)');
        carried.push('postcopy-preempt');
      }
      t.deepEqual(carried.sort(), [...c.roles].sort());
      if (c.tls === 'terminate') t.is(index.transport, 'tls-terminated');
      if (c.roles.includes('multifd')) t.deepEqual(index.roles.filter((x) => x.role === 'multifd').map((x) => x.multifd_channel_id).sort(), [0, 1, 2, 3]);
      // Legacy mode: one SWITCHOVER_ACK first on the return path; per-device mode (machine 11.1): none here, no device needs one.
      const ackMode = c.caps?.['switchover-ack'] ? switchoverAckMode({ machine: dst.machine, destinationRelease: c.dst }).mode : undefined;
      if (ackMode) t.is(index.connections[0]!.directions.dst2src.head_hex.startsWith('00070000'), ackMode === 'legacy', `switchover-ack ${ackMode}: SWITCHOVER_ACK first on the return path or not`);

      if (c.tls === 'passthrough') return; // encrypted bytes: nothing more to decode

      // The recording decodes, round-trips and rebuilds the destination's RAM.
      const rt = new MemoryOutput();
      const rtCode = await main(['check', '--roundtrip', capture], rt);
      if (rtCode !== 0) keepForDiagnosis(capture, c.name);
      t.is(rtCode, 0, rt.lines.join('\n'));
      const rep = await runExtract(capture, { outDir: join(dir, 'ram'), blocks: ['pc.ram'], quiet: true });
      t.deepEqual(rep.errors, []);
      // The protocol rules hold, live while proxying and on the finished recording.
      t.deepEqual(live.violations, []);
      writeFileSync(join(capture, 'meta.json'), JSON.stringify({ caps: c.caps ?? {} }));
      const checked = await checkCapture(await openCapture(capture));
      t.true(checked.ok, JSON.stringify(checked.rules.filter((x) => x.status === 'fail')));
      if (ackMode) t.is(checked.rules.find((x) => x.id === 'switchover-ack')?.status, 'pass');
      if (c.roles.includes('multifd')) t.is(checked.rules.find((x) => x.id === 'sync-per-flush')?.status, 'pass');
      if (c.postcopy) t.is(checked.rules.find((x) => x.id === 'postcopy-package')?.status, 'pass', 'the recording carries the postcopy package');
      if (c.postcopy && c.roles.includes('multifd')) for (const id of ['no-multifd-after-postcopy', 'postcopy-final-flush', 'postcopy-ram-records', ...(c.roles.includes('postcopy-preempt') && !silentPreempt ? ['preempt-opened-last'] : [])]) t.is(checked.rules.find((x) => x.id === id)?.status, 'pass', id);
      // A preempt connection that carried nothing cannot be told from any other empty one: n/a, not a pass.
      if (silentPreempt) t.is(checked.rules.find((x) => x.id === 'preempt-opened-last')?.status, 'n/a');
      if (ackMode) t.regex(checked.rules.find((x) => x.id === 'switchover-ack')?.detail ?? '', ackMode === 'legacy' ? /legacy: one ACK/ : /no SWITCHOVER_ACK, and no device needs one/);

      // What the recording carries is the source's RAM at switchover: for precopy also the destination's.
      t.is(sha(readFileSync(join(dir, 'ram', 'pc.ram.img'))), sha(srcRam), 'extracted pc.ram equals the RAM the source stopped with');
    } finally {
      await src?.stop();
      await dst?.stop();
      await proxy?.close(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// The CLI itself between two QEMUs: `migwire record --check --direct-io --exit-when-idle`, as a person runs it.
const haveCli = qemuBinary('10.0') || process.env['CI'] === 'true';
(haveCli ? test.serial : test.serial.skip)('the migwire record CLI with --check --direct-io records a multifd migration, reports every byte and every rule', async (t) => {
  if (!requireQemu(t, '10.0')) return;
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const bin = fileURLToPath(new URL('../../tools/bin/migwire.js', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'mw-record-cli-'));
  const capture = join(dir, 'capture');
  const disk = makeBootDisk({ startMiB: 1, endMiB: 9 });
  let src: Vm | undefined;
  let dst: Vm | undefined;
  let child: import('node:child_process').ChildProcess | undefined;
  try {
    src = await launchVm({ version: '10.0', role: 'source', memMiB: MEM, bootDisk: disk });
    dst = await launchVm({ version: '10.0', role: 'destination', memMiB: MEM, bootDisk: disk });
    let stderr = '';
    let stdout = '';
    let exitCode: Promise<number> = Promise.resolve(-1);
    const r = await runMigration({
      source: src,
      destination: dst,
      caps: { multifd: true },
      params: { ...MULTIFD4, 'multifd-compression': 'zstd' },
      hold: SLOW_COMPRESSED,
      pollMs: 50,
      interpose: async (uri) => {
        const target = uri.replace(/^tcp:/, '');
        child = spawn(process.execPath, [bin, 'record', '--listen', '127.0.0.1:0', '--target', target, '--out', capture, '--multifd', '4', '--check', '--direct-io', '--exit-when-idle', '500'], { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
        exitCode = new Promise<number>((resolve) => child!.once('exit', (code) => resolve(code ?? -1)));
        const port = await new Promise<number>((resolve, reject) => {
          child!.stderr!.on('data', (b: Buffer) => {
            stderr += b.toString();
            const m = /listening on [^ ]+:(\d+)/.exec(stderr);
            if (m) resolve(Number(m[1]));
          });
          child!.once('exit', () => reject(new Error(`record exited: ${stderr}`)));
        });
        return `tcp:127.0.0.1:${port}`;
      },
    });
    t.is(r.status, 'completed', r.reason ?? '');
    await src.stop();
    await dst.stop();
    t.is(await exitCode, 0, `${stdout}\n${stderr}`);
    t.regex(stdout, /recorded 5 connections, every byte accounted for/);
    t.regex(stdout, /live checks: 0 violation\(s\)/);
    t.regex(stdout, /PASS sync-per-flush/);
    t.regex(stdout, /check: every rule holds/);
    t.regex(stderr, /multifd \d .*\/s/);
  } finally {
    child?.kill('SIGTERM');
    await src?.stop();
    await dst?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
