/**
 * The QEMU command line the driver uses (QEMU-HARNESS.md, "Command line that works") and the VM
 * folder it refers to: the boot disk copy, the serial log and the QMP socket.
 */

import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MARKER, readBootParams } from './guest.js';
import type { QemuBinary } from './releases.js';

export interface VmFiles {
  disk: string;
  serialPath: string;
  qmpPath: string;
  /** The guest's serial marker byte, read from the boot sector (DEFAULT_MARKER for a foreign image). */
  marker: number;
}

/**
 * Put the boot disk (a buffer or a path, always copied: each side needs its own), an empty serial
 * log and the QMP socket path into `dir`. `tag` (src/dst) keeps both sides apart in one folder.
 */
export function prepareVmFiles(dir: string, tag: string, bootDisk: Buffer | string): VmFiles {
  const disk = join(dir, `boot-${tag}.img`);
  if (typeof bootDisk === 'string') copyFileSync(bootDisk, disk);
  else writeFileSync(disk, bootDisk);
  let marker = DEFAULT_MARKER;
  try {
    marker = readBootParams(typeof bootDisk === 'string' ? readFileSync(disk).subarray(0, 512) : bootDisk).marker;
  } catch {
    /* foreign image: keep the default marker */
  }
  const serialPath = join(dir, `serial-${tag}.log`);
  writeFileSync(serialPath, '');
  return { disk, serialPath, qmpPath: join(dir, `qmp-${tag}.sock`), marker };
}

export interface CommandLineOptions {
  name: string;
  machine: string;
  memMiB: number;
  /** `-incoming defer` when set. */
  incoming: 'defer' | null;
  /** `-S`: stay paused. */
  paused: boolean;
  /** Appended last. */
  extraArgs?: string[];
}

/** Arguments after `binary.bin`: the release's own prefix, then TCG, no devices, serial to a file, QMP on a unix socket. */
export function qemuArgs(binary: QemuBinary, files: VmFiles, o: CommandLineOptions): string[] {
  const args = [
    ...binary.extraArgs,
    '-name', o.name,
    '-M', o.machine,
    '-accel', 'tcg',
    '-m', `${o.memMiB}M`,
    '-nographic',
    '-nodefaults',
    '-serial', `file:${files.serialPath}`,
    '-drive', `file=${files.disk},format=raw,if=ide`,
    '-qmp', `unix:${files.qmpPath},server=on,wait=off`,
  ];
  if (o.incoming) args.push('-incoming', o.incoming);
  if (o.paused) args.push('-S');
  args.push(...(o.extraArgs ?? []));
  return args;
}
