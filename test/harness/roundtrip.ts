/**
 * The verified save-to-file / load-from-file round trip shared by the interop test and the
 * fixture generator:
 *
 *  1. source VM runs our guest; it is migrated to a file (`file:` or `exec:cat > PATH`) under the
 *     non-convergence control; the source must end `completed`; its stopped RAM is dumped;
 *  2. a fresh destination (`-incoming defer -S`) loads the file; it must end `completed` and stay
 *     paused; its RAM must equal the source's byte for byte, and the pattern must verify on both;
 *  3. `cont` on the destination: the guest must print new markers; after `stop` the pattern
 *     region must verify again.
 *
 * Every QEMU is stopped in a finally path.
 */

import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeBootDisk, bootSectorSha256, MiB } from './guest.js';
import { compareMemory, pmemsaveAll, pmemsaveRegion, verifyPattern, sha256, type MemoryCompareResult, type PatternResult } from './memory.js';
import {
  launchVm, migrateToFile, loadFromFile, fileUris, qemuBinary,
  type HoldControl, type MigrationResult, type QemuVersion, type Vm,
} from './qemu.js';
import { Clock } from './qmp.js';

export interface RoundTripOptions {
  version: QemuVersion;
  /** Destination QEMU (default: same as source). */
  dstVersion?: QemuVersion;
  machine?: string;
  /** More QEMU arguments for both sides (devices: MANY_DEVICES). */
  extraArgs?: readonly string[];
  memMiB: number;
  startMiB: number;
  endMiB: number;
  caps?: Record<string, boolean>;
  params?: Record<string, unknown>;
  srcParams?: Record<string, unknown>;
  kind: 'file' | 'exec';
  /** Where the migration stream is written. */
  streamPath: string;
  /** Folder for memory dumps and (optionally) QMP transcripts. */
  workDir: string;
  /** Write qmp-src.jsonl / qmp-dst.jsonl into this folder. */
  transcriptDir?: string;
  hold?: HoldControl | null;
  /** Source markers before migrate. Default 200. */
  waitMarkers?: number;
  /** query-migrate polling interval on the source, ms. Default 100. */
  pollMs?: number;
  /** New destination markers required after cont. Default 100. */
  newMarkers?: number;
  clock?: Clock;
}

export interface VmInfo {
  build: QemuVersion;
  binary: string;
  version_string: string;
  qmp_version: string;
  package: string;
  machine: string;
  argv: string[];
}

export interface RoundTripVerification {
  pass: boolean;
  failures: string[];
  src_status_after_migration: string | null;
  dst_status_after_migration: string | null;
  exact_full_ram_compare: MemoryCompareResult | null;
  pattern_src_at_switchover: PatternResult | null;
  pattern_dst_at_switchover: PatternResult | null;
  dst_serial_markers_before_cont: number | null;
  dst_serial_markers_after_cont: number | null;
  pattern_dst_after_cont: PatternResult | null;
}

export interface RoundTripResult {
  pass: boolean;
  save: MigrationResult | null;
  load: MigrationResult | null;
  verification: RoundTripVerification;
  src: VmInfo | null;
  dst: VmInfo | null;
  stream: { path: string; size: number; allocated_bytes: number; uri_written: string; uri_read: string } | null;
  boot_sector_sha256: string;
  timings_ms: { save_wall: number | null; load_wall: number | null; total: number };
  error: string | null;
}

export function vmInfo(vm: Vm): VmInfo {
  const g = vm.qmp.greeting.QMP.version;
  return {
    build: vm.binary.version,
    binary: vm.binary.executable,
    version_string: vm.binary.versionString,
    qmp_version: vm.qmp.version,
    package: g.package,
    machine: vm.machine,
    argv: vm.argv,
  };
}

export async function runFileRoundTrip(o: RoundTripOptions): Promise<RoundTripResult> {
  const t0 = performance.now();
  const clock = o.clock ?? new Clock();
  mkdirSync(o.workDir, { recursive: true });
  const disk = makeBootDisk({ startMiB: o.startMiB, endMiB: o.endMiB });
  const uris = fileUris(o.kind, o.streamPath);
  const ver: RoundTripVerification = {
    pass: false, failures: [], src_status_after_migration: null, dst_status_after_migration: null,
    exact_full_ram_compare: null, pattern_src_at_switchover: null, pattern_dst_at_switchover: null,
    dst_serial_markers_before_cont: null, dst_serial_markers_after_cont: null, pattern_dst_after_cont: null,
  };
  const res: RoundTripResult = {
    pass: false, save: null, load: null, verification: ver, src: null, dst: null, stream: null,
    boot_sector_sha256: bootSectorSha256(disk), timings_ms: { save_wall: null, load_wall: null, total: 0 }, error: null,
  };
  const fail = (m: string) => ver.failures.push(m);
  const machine = o.machine ?? qemuBinary(o.version)?.defaultMachine;
  let src: Vm | undefined;
  let dst: Vm | undefined;
  try {
    // 1. Save.
    src = await launchVm({
      version: o.version, role: 'source', memMiB: o.memMiB, bootDisk: disk, clock,
      ...(machine ? { machine } : {}),
      ...(o.extraArgs ? { extraArgs: [...o.extraArgs] } : {}),
      ...(o.transcriptDir ? { transcript: join(o.transcriptDir, 'qmp-src.jsonl') } : {}),
    });
    res.src = vmInfo(src);
    res.save = await migrateToFile({
      source: src, path: o.streamPath, kind: o.kind, clock,
      ...(o.caps ? { caps: o.caps } : {}),
      ...(o.params ? { params: o.params } : {}),
      ...(o.srcParams ? { srcParams: o.srcParams } : {}),
      ...(o.hold !== undefined ? { hold: o.hold } : {}),
      ...(o.waitMarkers !== undefined ? { waitMarkers: o.waitMarkers } : {}),
      ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
    });
    res.timings_ms.save_wall = res.save.wall_ms;
    ver.src_status_after_migration = res.save.src_status;
    if (res.save.status !== 'completed') {
      fail(`save: ${res.save.status}: ${res.save.reason ?? ''}`);
      return res;
    }
    // exec:cat > PATH: `cat` may still be writing the tail (EOF, VMDESCRIPTION) when QEMU reports
    // completed, and stopping the source kills it: wait until the file stops growing.
    if (o.kind === 'exec') await settledSize(o.streamPath);
    const st = statSync(o.streamPath);
    res.stream = {
      path: o.streamPath, size: st.size, allocated_bytes: st.blocks * 512,
      uri_written: uris.write, uri_read: uris.read,
    };
    const srcState = await src.runState();
    if (srcState !== 'postmigrate' && srcState !== 'paused') fail(`source run state after migration: ${srcState}`);
    const srcRam = await pmemsaveAll(src.qmp, o.memMiB, join(o.workDir, 'src-ram.bin'));
    ver.pattern_src_at_switchover = verifyPattern(srcRam, o.startMiB, o.endMiB);
    if (!ver.pattern_src_at_switchover.ok) fail(`source pattern: ${ver.pattern_src_at_switchover.reason ?? ''}`);
    await src.stop();
    src = undefined;

    // 2. Load.
    dst = await launchVm({
      version: o.dstVersion ?? o.version, role: 'destination', memMiB: o.memMiB, bootDisk: disk, clock,
      ...(machine ? { machine } : {}),
      ...(o.extraArgs ? { extraArgs: [...o.extraArgs] } : {}),
      ...(o.transcriptDir ? { transcript: join(o.transcriptDir, 'qmp-dst.jsonl') } : {}),
    });
    res.dst = vmInfo(dst);
    res.load = await loadFromFile({
      destination: dst, path: o.streamPath, kind: o.kind, clock,
      ...(o.caps ? { caps: o.caps } : {}),
      ...(o.params ? { params: o.params } : {}),
    });
    res.timings_ms.load_wall = res.load.wall_ms;
    if (res.load.status !== 'completed') {
      fail(`load: ${res.load.status}: ${res.load.reason ?? ''}`);
      return res;
    }
    ver.dst_status_after_migration = await dst.runState();
    if (ver.dst_status_after_migration !== 'paused') fail(`destination run state after load: ${ver.dst_status_after_migration}`);
    const dstRam = await pmemsaveAll(dst.qmp, o.memMiB, join(o.workDir, 'dst-ram.bin'));
    ver.exact_full_ram_compare = compareMemory(srcRam, dstRam);
    if (!ver.exact_full_ram_compare.ok) {
      fail(`destination RAM differs from source in ${ver.exact_full_ram_compare.differing_pages} pages`);
    }
    ver.pattern_dst_at_switchover = verifyPattern(dstRam, o.startMiB, o.endMiB);
    if (!ver.pattern_dst_at_switchover.ok) fail(`destination pattern: ${ver.pattern_dst_at_switchover.reason ?? ''}`);

    // 3. Run the destination.
    ver.dst_serial_markers_before_cont = dst.countMarkers();
    await dst.qmp.execute('cont');
    const want = ver.dst_serial_markers_before_cont + (o.newMarkers ?? 100);
    try {
      await dst.waitForMarkers(want, 20_000);
    } catch (e) {
      fail(String(e));
    }
    await dst.qmp.execute('stop');
    ver.dst_serial_markers_after_cont = dst.countMarkers();
    const region = await pmemsaveRegion(dst.qmp, o.startMiB, o.endMiB, join(o.workDir, 'dst-region.bin'));
    ver.pattern_dst_after_cont = verifyPattern(region, o.startMiB, o.endMiB);
    if (!ver.pattern_dst_after_cont.ok) fail(`destination pattern after cont: ${ver.pattern_dst_after_cont.reason ?? ''}`);
    if (sha256(region) === sha256(dstRam.subarray(o.startMiB * MiB, o.endMiB * MiB))) {
      fail('destination pattern region did not change after cont');
    }
    return res;
  } catch (e) {
    res.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    fail(`error: ${String(e)}`);
    return res;
  } finally {
    await src?.stop();
    await dst?.stop();
    ver.pass = ver.failures.length === 0 && res.error === null;
    res.pass = ver.pass;
    res.timings_ms.total = Math.round(performance.now() - t0);
  }
}

/** Resolve once the file's size has not changed for 300 ms (at most 10 s). */
async function settledSize(path: string): Promise<void> {
  let last = -1;
  let stableSince = Date.now();
  for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    const size = statSync(path).size;
    if (size !== last) {
      last = size;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 300) return;
  }
}
