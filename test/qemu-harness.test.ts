/**
 * Proves the real-QEMU harness: a precopy migration of our guest to a file and back, on QEMU 10.0
 * (`file:` URI) and QEMU 7.2 (`exec:cat > PATH`, machine pc-q35-7.2). The destination's RAM must
 * be identical to the stopped source's and the guest pattern must verify, before and after the
 * destination runs. Without the QEMU in question the test is skipped, except with CI=true where it
 * fails (see requireQemu).
 */

import test from 'ava';
import { mkdtempSync, rmSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBootDisk, readBootParams, DISK_SIZE, MiB, PAGE_SIZE } from './harness/guest.js';
import { verifyPattern } from './harness/memory.js';
import { qemuBinary, requireQemu, type QemuVersion } from './harness/qemu.js';
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

const cases: { version: QemuVersion; kind: 'file' | 'exec' }[] = [
  { version: '10.0', kind: 'file' },
  { version: '7.2', kind: 'exec' },
];

for (const { version, kind } of cases) {
  // A real skip when QEMU is missing (ava cannot skip from inside a test); in CI requireQemu fails.
  const declare = qemuBinary(version) || process.env.CI === 'true' ? test.serial : test.serial.skip;
  declare(`QEMU ${version}: precopy to ${kind === 'file' ? 'file:' : 'exec:cat >'} and back, RAM identical, pattern verified`, async (t) => {
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
