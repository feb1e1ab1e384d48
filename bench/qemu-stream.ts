/**
 * The bench's real input: a QEMU 10.0 precopy stream of a 1 GiB guest whose every page from 1 MiB
 * up holds data (the guest dirties them all before `migrate`), written with `migrate file:` and
 * kept in the cache folder. Without QEMU the caller falls back to a synthetic stream and says so.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { launchVm, makeBootDisk, migrateToFile, qemuBinary } from '@migwire/qemu';

export interface RealStream {
  path: string;
  /** Guest RAM in MiB. */
  memMiB: number;
  /** How it was made (printed with the figures). */
  origin: string;
}

/** Make (or reuse) `qemu-<memMiB>.bin` under `dir`; undefined when QEMU 10.0 is not installed. */
export async function realQemuStream(dir: string, memMiB: number, log: (s: string) => void): Promise<RealStream | undefined> {
  const path = join(dir, `qemu10-${memMiB}.bin`);
  const origin = `QEMU 10.0 precopy to file: ${memMiB} MiB guest, pages 1..${memMiB - 24} MiB dirtied first`;
  if (existsSync(path) && statSync(path).size > 0) return { path, memMiB, origin };
  const binary = qemuBinary('10.0');
  if (!binary) return undefined;
  mkdirSync(dir, { recursive: true });
  log(`making ${path} with real QEMU 10.0 (TCG; about a minute)...`);
  // Leave the top of RAM alone: the BIOS's own tables sit near the end of low memory.
  const bootDisk = makeBootDisk({ startMiB: 1, endMiB: memMiB - 24 });
  const vm = await launchVm({ version: binary, role: 'source', memMiB, bootDisk });
  const tmp = `${path}.part`;
  rmSync(tmp, { force: true });
  // A guest left running keeps re-dirtying its pages and the file grows without end: stop it once
  // every page has been written (two passes of its loop), and watch the size anyway.
  const limit = memMiB * 1024 * 1024 * 1.2;
  let tooBig = false;
  const watch = setInterval(() => {
    if (existsSync(tmp) && statSync(tmp).size > limit) {
      tooBig = true;
      void vm.stop();
    }
  }, 200);
  try {
    await vm.waitForMarkers(2, 120_000);
    await vm.qmp.execute('stop', {});
    const r = await migrateToFile({ source: vm, path: tmp, kind: 'file', hold: null, waitMarkers: 0, timeoutMs: 300_000 });
    if (tooBig) throw new Error(`QEMU wrote more than ${limit} bytes to ${tmp}: stopped`);
    if (r.status !== 'completed') throw new Error(`QEMU migration to ${tmp} ${r.status}: ${r.reason ?? ''}`);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    clearInterval(watch);
    await vm.stop();
  }
  renameSync(tmp, path);
  return { path, memMiB, origin };
}
