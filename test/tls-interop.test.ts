/**
 * Interop: a real QEMU 10.0 precopy migration over x509 TLS, source straight to destination
 * (no proxy), with credentials from @migwire/channel-manager (generateTlsCredentials +
 * writeQemuTlsDir). The destination loads tls-creds-x509 endpoint=server (verify-peer on, the
 * default: the source must present client-cert.pem), the source endpoint=client and checks the
 * server certificate against the URI host 127.0.0.1 (iPAddress SAN). GnuTLS on the source writes
 * its session secrets to SSLKEYLOGFILE, proving the stream was TLS. The destination's RAM must
 * equal the stopped source's byte for byte, the guest pattern must verify, and the guest must
 * keep running after `cont`. Three more tests prove the checks are enforced: a source trusting another CA, a server
 * certificate without the IP SAN, and a source without a client certificate all fail.
 */

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { generateTlsCredentials, qemuTlsObjectArgs, writeQemuTlsDir } from '@migwire/channel-manager';
import { makeBootDisk, MiB } from './harness/guest.js';
import { compareMemory, pmemsaveAll, pmemsaveRegion, sha256, verifyPattern } from './harness/memory.js';
import { launchVm, qemuBinary, requireQemu, runMigration, type Vm } from './harness/qemu.js';
import { Clock } from './harness/qmp.js';

const VERSION = '10.0' as const;
const MEM_MIB = 32;
const START_MIB = 1;
const END_MIB = 5;

const declare = qemuBinary(VERSION) || process.env.CI === 'true' ? test.serial : test.serial.skip;

declare('QEMU 10.0: precopy over x509 TLS (our credentials), destination RAM identical and guest runs', async (t) => {
  if (!requireQemu(t, VERSION)) return;
  const t0 = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'mw-tls-'));
  const tlsDir = join(work, 'tls');
  const keylog = join(work, 'sslkeys.log');
  let src: Vm | undefined;
  let dst: Vm | undefined;
  try {
    const tg = performance.now();
    writeQemuTlsDir(tlsDir, generateTlsCredentials());
    const genMs = performance.now() - tg;
    const disk = makeBootDisk({ startMiB: START_MIB, endMiB: END_MIB });
    const clock = new Clock();
    dst = await launchVm({
      version: VERSION, role: 'destination', memMiB: MEM_MIB, bootDisk: disk, clock,
      extraArgs: qemuTlsObjectArgs({ dir: tlsDir, endpoint: 'server' }),
    });
    src = await launchVm({
      version: VERSION, role: 'source', memMiB: MEM_MIB, bootDisk: disk, clock,
      extraArgs: qemuTlsObjectArgs({ dir: tlsDir, endpoint: 'client' }),
      env: { SSLKEYLOGFILE: keylog },
    });
    const r = await runMigration({
      source: src, destination: dst, clock, uri: 'tcp', params: { 'tls-creds': 'tls0' }, pollMs: 20, timeoutMs: 60_000,
    });
    t.log(
      `credentials ${genMs.toFixed(0)} ms; migration ${r.status} in ${r.total_time_ms ?? '?'} ms ` +
        `(wall ${r.wall_ms} ms, downtime ${r.downtime_ms ?? '?'} ms, ${r.dirty_sync_count ?? '?'} syncs, ` +
        `${r.ram_transferred ?? '?'} bytes) via ${r.uri ?? '?'}`,
    );
    t.is(r.status, 'completed', r.reason ?? '');
    t.is(r.src_status, 'completed');
    t.is(r.dst_status, 'completed');
    t.true((r.dirty_sync_count ?? 0) >= 2, 'several RAM rounds');
    t.regex(r.uri ?? '', /^tcp:127\.0\.0\.1:\d+$/);

    // TLS was really configured and used.
    for (const vm of [src, dst]) {
      const p = await vm.qmp.execute<Record<string, unknown>>('query-migrate-parameters');
      t.is(p['tls-creds'], 'tls0', `${vm.role} tls-creds`);
    }
    t.true(existsSync(keylog), 'GnuTLS wrote SSLKEYLOGFILE on the source');
    const keys = existsSync(keylog) ? readFileSync(keylog, 'utf8') : '';
    t.regex(keys, /^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|CLIENT_RANDOM) [0-9a-f]+ [0-9a-f]+$/m);
    t.log(`key log: ${keys.split('\n').filter(Boolean).map((l) => l.split(' ')[0]).join(', ')}`);

    // Memory: stopped source vs paused destination, byte for byte.
    t.true(['postmigrate', 'paused'].includes(await src.runState()));
    t.is(await dst.runState(), 'paused');
    const srcRam = await pmemsaveAll(src.qmp, MEM_MIB, join(work, 'src-ram.bin'));
    const dstRam = await pmemsaveAll(dst.qmp, MEM_MIB, join(work, 'dst-ram.bin'));
    const cmp = compareMemory(srcRam, dstRam);
    t.true(cmp.ok, `destination RAM differs in ${cmp.differing_pages} pages: ${cmp.first_differing_addrs.join(' ')}`);
    t.is(cmp.size, MEM_MIB * MiB);
    const pSrc = verifyPattern(srcRam, START_MIB, END_MIB);
    const pDst = verifyPattern(dstRam, START_MIB, END_MIB);
    t.true(pSrc.ok, pSrc.reason ?? '');
    t.true(pDst.ok, pDst.reason ?? '');
    await src.stop();
    src = undefined;

    // The destination's guest runs on.
    const before = dst.countMarkers();
    await dst.qmp.execute('cont');
    await dst.waitForMarkers(before + 100, 20_000);
    await dst.qmp.execute('stop');
    const region = await pmemsaveRegion(dst.qmp, START_MIB, END_MIB, join(work, 'dst-region.bin'));
    const pAfter = verifyPattern(region, START_MIB, END_MIB);
    t.true(pAfter.ok, pAfter.reason ?? '');
    t.not(sha256(region), sha256(dstRam.subarray(START_MIB * MiB, END_MIB * MiB)), 'guest changed memory after cont');
    t.log(`destination markers ${before} -> ${dst.countMarkers()}; total ${(performance.now() - t0).toFixed(0)} ms`);
  } finally {
    await src?.stop();
    await dst?.stop();
    rmSync(work, { recursive: true, force: true });
  }
});

interface RefusalCase {
  name: string;
  /** Write the destination's and the source's credential folders. */
  prepare(dstDir: string, srcDir: string): void;
  /** The source's error-desc. */
  expect: RegExp;
}

const refusals: RefusalCase[] = [
  {
    name: 'a source trusting another CA refuses the destination',
    prepare: (dstDir, srcDir) => {
      writeQemuTlsDir(dstDir, generateTlsCredentials());
      writeQemuTlsDir(srcDir, generateTlsCredentials({ caCommonName: 'rogue CA' }));
    },
    expect: /known issuer/,
  },
  {
    name: 'a server certificate without IP SAN 127.0.0.1 does not match tcp:127.0.0.1',
    prepare: (dstDir, srcDir) => {
      const c = generateTlsCredentials({ ipAddresses: ['192.0.2.1'], dnsNames: ['localhost'] });
      writeQemuTlsDir(dstDir, c);
      writeQemuTlsDir(srcDir, c);
    },
    expect: /does not match the hostname 127\.0\.0\.1/,
  },
  {
    name: 'the destination refuses a source without a client certificate',
    prepare: (dstDir, srcDir) => {
      const c = generateTlsCredentials();
      writeQemuTlsDir(dstDir, c);
      writeQemuTlsDir(srcDir, c);
      rmSync(join(srcDir, 'client-cert.pem'));
      rmSync(join(srcDir, 'client-key.pem'));
    },
    expect: /TLS|handshake|certificate|read|write|Broken pipe|reset/i,
  },
];

for (const c of refusals) {
  declare(`QEMU 10.0 TLS refusal: ${c.name}`, async (t) => {
    if (!requireQemu(t, VERSION)) return;
    const t0 = performance.now();
    const work = mkdtempSync(join(tmpdir(), 'mw-tls-'));
    let src: Vm | undefined;
    let dst: Vm | undefined;
    try {
      c.prepare(join(work, 'dst'), join(work, 'src'));
      const disk = makeBootDisk({ startMiB: START_MIB, endMiB: END_MIB });
      dst = await launchVm({
        version: VERSION, role: 'destination', memMiB: MEM_MIB, bootDisk: disk,
        extraArgs: qemuTlsObjectArgs({ dir: join(work, 'dst'), endpoint: 'server' }),
      });
      src = await launchVm({
        version: VERSION, role: 'source', memMiB: MEM_MIB, bootDisk: disk,
        extraArgs: qemuTlsObjectArgs({ dir: join(work, 'src'), endpoint: 'client' }),
      });
      // After a refused handshake the destination keeps listening (stays in `setup`), so only the
      // source is polled to its end.
      await dst.qmp.execute('migrate-set-parameters', { 'tls-creds': 'tls0' });
      await dst.qmp.execute('migrate-incoming', { uri: 'tcp:127.0.0.1:0' });
      const port = (await dst.queryMigrate())['socket-address']?.[0]?.port;
      t.not(port, undefined);
      const r = await runMigration({
        source: src, uri: `tcp:127.0.0.1:${String(port)}`, params: { 'tls-creds': 'tls0' }, hold: null,
        waitMarkers: 50, pollMs: 20, timeoutMs: 30_000,
      });
      // When the destination's side of the handshake succeeded (it does not check the source's
      // name) and the source then hangs up, the destination fails the load ("Not a migration
      // stream") and, exit-on-error being the default, may exit: both are fine here.
      await delay(200);
      const dstStatus = dst.exited ? 'exited' : ((await dst.queryMigrate().catch(() => null))?.status ?? 'gone');
      const dstRun = dst.exited ? 'exited' : await dst.runState().catch(() => 'gone');
      t.log(
        `source ${r.src_status ?? '-'}: ${r.reason ?? ''}; destination ${dstStatus} (${dstRun}); ` +
          `${(performance.now() - t0).toFixed(0)} ms`,
      );
      t.log(`destination output: ${dst.output.trim().replace(/\n/g, ' | ') || '(none)'}`);
      t.is(r.status, 'failed');
      t.is(r.src_status, 'failed');
      t.regex(r.reason ?? '', c.expect);
      t.not(dstStatus, 'completed');
      t.not(dstRun, 'paused', 'the destination did not complete a load');
    } finally {
      await src?.stop();
      await dst?.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
}
