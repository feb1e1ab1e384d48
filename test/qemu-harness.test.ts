/**
 * Proves the real-QEMU driver (@migwire/qemu): discovery of the three releases, a precopy
 * migration of our guest to a file and back on QEMU 10.0 and 11.1 (`file:` URI) and QEMU 7.2
 * (`exec:cat > PATH`, machine pc-q35-7.2), and a precopy migration over loopback TCP on QEMU 11.1
 * (run through its trixie root's loader). The destination's RAM must be identical to the stopped
 * source's and the guest pattern must verify, before and after the destination runs. Without the
 * QEMU in question the test is skipped, except with CI=true where it fails (see requireQemu).
 */

import test from 'ava';
import { mkdtempSync, rmSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBootDisk, readBootParams, DISK_SIZE, MiB, PAGE_SIZE } from './harness/guest.js';
import { compareMemory, pmemsaveAll, pmemsaveRegion, verifyPattern } from './harness/memory.js';
import {
  isQemuVersion, launchVm, QEMU_RELEASES, qemuBinaries, qemuBinary, requireQemu, runMigration, whenQemu,
  type QemuVersion, type Vm,
} from './harness/qemu.js';
import { runFileRoundTrip } from './harness/roundtrip.js';

test('guest: boot disk layout and parameter block', (t) => {
  const d = makeBootDisk({ startMiB: 1, endMiB: 5 });
  t.is(d.length, DISK_SIZE);
  t.is(d[510], 0x55);
  t.is(d[511], 0xaa);
  t.deepEqual(readBootParams(d), { startMiB: 1, endMiB: 5, marker: 0x42 });
  t.deepEqual(readBootParams(makeBootDisk()), { startMiB: 1, endMiB: 9, marker: 0x42 });
  t.throws(() => makeBootDisk({ startMiB: 5, endMiB: 5 }));
  t.throws(() => makeBootDisk({ startMiB: 0, endMiB: 5 }));
});

test('memory: verifyPattern shapes', (t) => {
  const region = (firsts: (p: number) => number, pages = 256): Buffer => {
    const b = Buffer.alloc(pages * PAGE_SIZE);
    for (let p = 0; p < pages; p++) b[p * PAGE_SIZE] = firsts(p) & 0xff;
    return b;
  };
  t.is(verifyPattern(region(() => 7), 1, 2).shape, 'uniform');
  const one = verifyPattern(region((p) => (p < 100 ? 0 : 255)), 1, 2);
  t.true(one.ok);
  t.is(one.shape, 'one-boundary');
  t.deepEqual(one.boundaries, [{ page: 100, before: 0, after: 255 }]);
  t.false(verifyPattern(region((p) => (p < 100 ? 5 : 3)), 1, 2).ok); // drop by two
  t.false(verifyPattern(region((p) => (p < 100 ? 5 : 6)), 1, 2).ok); // rise
  t.false(verifyPattern(region((p) => (p === 10 || p === 20 ? 4 : 5)), 1, 2).ok); // two boundaries
  const tail = region(() => 1);
  tail[5 * PAGE_SIZE + 17] = 1;
  const r = verifyPattern(tail, 1, 2);
  t.false(r.ok);
  t.deepEqual(r.pages_with_nonzero_tail, [5]);
  // A dump from address 0 works too.
  const full = Buffer.alloc(3 * MiB);
  region(() => 9).copy(full, MiB);
  t.true(verifyPattern(full, 1, 2).ok);
});

test('discovery: releases asked for by name; whatever is installed reports its own version', (t) => {
  t.deepEqual([...QEMU_RELEASES], ['7.2', '10.0', '11.1']);
  t.true(isQemuVersion('11.1'));
  t.false(isQemuVersion('9.2'));
  const all = qemuBinaries();
  t.deepEqual(Object.keys(all).sort(), ['10.0', '11.1', '7.2']);
  for (const v of QEMU_RELEASES) {
    const b = all[v];
    if (!b) continue;
    t.is(b.version, v);
    t.regex(b.versionString, new RegExp(`QEMU emulator version ${v.replace('.', '\\.')}\\.`));
    t.is(qemuBinary(v), b, 'one lookup per process');
  }
  // 11.1 runs through its root's loader: the real binary is among the loader's arguments.
  const b111 = all['11.1'];
  if (b111) {
    t.not(b111.bin, b111.executable);
    t.true(b111.extraArgs.includes(b111.executable));
    t.truthy(b111.env['QEMU_MODULE_DIR']);
  }
});

const cases: { version: QemuVersion; kind: 'file' | 'exec' }[] = [
  { version: '10.0', kind: 'file' },
  { version: '7.2', kind: 'exec' },
  { version: '11.1', kind: 'file' },
];

for (const { version, kind } of cases) {
  // A real skip when QEMU is missing (ava cannot skip from inside a test); in CI requireQemu fails.
  whenQemu(test.serial, version)(`QEMU ${version}: precopy to ${kind === 'file' ? 'file:' : 'exec:cat >'} and back, RAM identical, pattern verified`, async (t) => {
    if (!requireQemu(t, version)) return;
    const dir = mkdtempSync(join(tmpdir(), 'mw-harness-'));
    try {
      const streamPath = join(dir, 'stream.bin');
      const r = await runFileRoundTrip({
        version, kind, memMiB: 32, startMiB: 1, endMiB: 5, streamPath, workDir: dir, pollMs: 20,
      });
      t.log(
        `stream ${r.stream?.size ?? '?'} bytes; save ${r.save?.total_time_ms ?? '?'} ms (downtime ${r.save?.downtime_ms ?? '?'} ms, ` +
          `${r.save?.dirty_sync_count ?? '?'} syncs); load ${r.load?.wall_ms ?? '?'} ms; total ${r.timings_ms.total} ms`,
      );
      t.deepEqual(r.verification.failures, []);
      t.is(r.error, null);
      t.is(r.save?.src_status, 'completed');
      t.is(r.load?.dst_status, 'completed');
      t.is(r.verification.dst_status_after_migration, 'paused');
      t.true(r.verification.exact_full_ram_compare?.ok, 'destination RAM equals source RAM');
      t.is(r.verification.exact_full_ram_compare?.size, 32 * MiB);
      t.true(r.verification.pattern_src_at_switchover?.ok);
      t.true(r.verification.pattern_dst_at_switchover?.ok);
      t.true(r.verification.pattern_dst_after_cont?.ok);
      t.true((r.verification.dst_serial_markers_after_cont ?? 0) >= 100, 'destination guest ran');
      t.true((r.save?.dirty_sync_count ?? 0) >= 2, 'several RAM rounds');
      // The stream starts with QEVM, version 3.
      const head = Buffer.alloc(8);
      const fd = openSync(streamPath, 'r');
      try {
        readSync(fd, head, 0, 8, 0);
      } finally {
        closeSync(fd);
      }
      t.is(head.toString('hex'), '5145564d00000003');
      t.true(r.pass);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

whenQemu(test.serial, '11.1')('QEMU 11.1: precopy over loopback TCP, destination RAM identical, guest runs on', async (t) => {
  if (!requireQemu(t, '11.1')) return;
  const MEM = 32;
  const dir = mkdtempSync(join(tmpdir(), 'mw-harness-'));
  let src: Vm | undefined;
  let dst: Vm | undefined;
  try {
    const disk = makeBootDisk({ startMiB: 1, endMiB: 5 });
    src = await launchVm({ version: '11.1', role: 'source', memMiB: MEM, bootDisk: disk });
    dst = await launchVm({ version: '11.1', role: 'destination', memMiB: MEM, bootDisk: disk });
    t.regex(src.qmp.version, /^11\.1\./, 'QMP greeting of the 11.1 source');
    const r = await runMigration({ source: src, destination: dst, pollMs: 20 });
    t.is(r.status, 'completed', r.reason ?? '');
    t.regex(r.uri ?? '', /^tcp:127\.0\.0\.1:\d+$/);
    t.true((r.dirty_sync_count ?? 0) >= 2, 'several RAM rounds');
    t.is(await dst.runState(), 'paused');

    const srcRam = await pmemsaveAll(src.qmp, MEM, join(dir, 'src.bin'));
    const dstRam = await pmemsaveAll(dst.qmp, MEM, join(dir, 'dst.bin'));
    const cmp = compareMemory(srcRam, dstRam);
    t.true(cmp.ok, `${cmp.differing_pages} pages differ`);
    t.true(verifyPattern(dstRam, 1, 5).ok, 'guest pattern on the destination at switchover');

    await dst.qmp.execute('cont');
    const before = dst.countMarkers();
    await dst.waitForMarkers(before + 100, 20_000);
    await dst.qmp.execute('stop');
    t.true(verifyPattern(await pmemsaveRegion(dst.qmp, 1, 5, join(dir, 'region.bin')), 1, 5).ok, 'guest pattern after running on');
  } finally {
    await src?.stop();
    await dst?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
