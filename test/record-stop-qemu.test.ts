/**
 * Real QEMU (issue 13, item 2): `migwire record` stopped by SIGINT in the middle of a migration
 * (the source held at a low bandwidth) ends within two seconds, writes index.json with status
 * stopped and the counts of the connection, exits 1, and the source sees its migration fail.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TcpProxyIndex } from '@migwire/capture';
import { makeBootDisk, MiB } from './harness/guest.js';
import { launchVm, qemuBinary, requireQemu, type Vm } from './harness/qemu.js';

let root = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(root, 'pnpm-workspace.yaml'))) root = dirname(root);
const BIN = join(root, 'tools', 'bin', 'migwire.js');

const have = qemuBinary('10.0') !== null || process.env['CI'] === 'true';

(have ? test.serial : test.serial.skip)('10.0 precopy: record stopped by SIGINT mid-migration ends at once, status stopped, exit 1', async (t) => {
  t.timeout(120_000);
  if (!requireQemu(t, '10.0')) return;
  const capture = join(mkdtempSync(join(tmpdir(), 'mw-recstop-')), 'capture');
  const disk = makeBootDisk({ startMiB: 1, endMiB: 9 });
  let src: Vm | undefined;
  let dst: Vm | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  try {
    src = await launchVm({ version: '10.0', role: 'source', memMiB: 128, bootDisk: disk });
    dst = await launchVm({ version: '10.0', role: 'destination', memMiB: 128, bootDisk: disk });
    await dst.qmp.execute('migrate-incoming', { uri: 'tcp:127.0.0.1:0' });
    const port = (await dst.queryMigrate())['socket-address']?.[0]?.port;
    t.truthy(port, 'the destination listens');
    child = spawn(process.execPath, [BIN, 'record', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${String(port)}`, '--out', capture, '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((r) => child!.once('exit', (code) => r({ code, at: Date.now() })));
    const listen = await new Promise<number>((resolve, reject) => {
      const look = (): void => {
        const m = /listening on [^ ]+:(\d+),/.exec(stderr);
        if (m) resolve(Number(m[1]));
      };
      child!.stderr!.on('data', look);
      void exited.then(() => reject(new Error(`record exited early: ${stderr}`)));
    });
    // Slow enough that the migration is still running when the signal comes.
    await src.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 4 * MiB });
    await src.qmp.execute('migrate', { uri: `tcp:127.0.0.1:${listen}` });
    const until = Date.now() + 20_000;
    while ((await src.queryMigrate()).status !== 'active' && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500)); // some RAM on the wire
    t.is((await src.queryMigrate()).status, 'active', 'mid-migration when stopped');
    const t0 = Date.now();
    child.kill('SIGINT');
    const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
    const { code, at } = await exited;
    clearTimeout(timer);
    t.true(at - t0 < 2000, `record ended ${at - t0} ms after SIGINT`);
    t.is(code, 1, stdout);
    const index = JSON.parse(readFileSync(join(capture, 'index.json'), 'utf8')) as TcpProxyIndex;
    t.is(index.status, 'stopped');
    const main = index.connections[0]!;
    t.is(main.role, 'main');
    t.true(main.forced_close);
    t.true(main.directions.src2dst.bytes_received > 1 * MiB, `${main.directions.src2dst.bytes_received} bytes recorded`);
    t.is(main.directions.src2dst.bytes_written, main.directions.src2dst.bytes_received);
    t.regex(stdout, /recording INCOMPLETE: .*stopped with connections open/);
    // The source sees its migration fail (the proxy closed its connection).
    const deadline = Date.now() + 20_000;
    let status = (await src.queryMigrate()).status;
    while (status === 'active' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await src.queryMigrate()).status;
    }
    t.is(status, 'failed');
  } finally {
    child?.kill('SIGKILL');
    await src?.stop();
    await dst?.stop();
  }
});
