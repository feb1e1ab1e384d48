/**
 * Discovery of the QEMU releases `.ci/install-qemu.sh` installs, asked for by name:
 *  - 10.0: system-wide (/usr/bin/qemu-system-x86_64, from bookworm-backports);
 *  - 7.2: debs unpacked into a cache folder; its TCG accelerator is a module (QEMU_MODULE_DIR)
 *    and its firmware is found with -L;
 *  - 11.1: installed inside a debootstrapped trixie root; its binary needs trixie's glibc, so it
 *    runs on the host through the root's own loader (--library-path), with -L and QEMU_MODULE_DIR.
 * The environment variables below move each location.
 */

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { isSupportedRelease, SUPPORTED_RELEASES, type SupportedRelease } from '@migwire/stream-codec';

/** The QEMU releases the driver knows, oldest first: the codec's supported releases. */
export const QEMU_RELEASES = SUPPORTED_RELEASES;
export type QemuVersion = SupportedRelease;

export const isQemuVersion: (s: unknown) => s is QemuVersion = isSupportedRelease;

export interface QemuBinary {
  version: QemuVersion;
  /**
   * Program to run: qemu-system-x86_64 itself, or (11.1) the trixie root's loader, in which
   * case `extraArgs` starts with the loader's arguments and the binary's path.
   */
  bin: string;
  /** Path of the qemu-system-x86_64 executable (equal to `bin` unless run through a loader). */
  executable: string;
  /** Extra environment (QEMU_MODULE_DIR for 7.2 and 11.1). */
  env: Record<string, string>;
  /** Arguments placed before ours: loader arguments (11.1), -L data dirs (7.2, 11.1). */
  extraArgs: string[];
  /** First line of `--version`. */
  versionString: string;
  /** Machine type used when none is given. */
  defaultMachine: string;
}

export type QemuBinaries = Record<QemuVersion, QemuBinary | null>;

/** Where .ci/install-qemu.sh installs QEMU 10.0. */
export const QEMU10_BIN = process.env['MIGWIRE_QEMU10_BIN'] ?? '/usr/bin/qemu-system-x86_64';
/** Where .ci/install-qemu.sh unpacks QEMU 7.2. */
export const QEMU72_CACHE = process.env['MIGWIRE_QEMU72_DIR'] ?? '/var/cache/migwire/qemu-7.2';
/** The trixie root in which .ci/install-qemu.sh installs QEMU 11.1. */
export const QEMU111_ROOT = process.env['MIGWIRE_QEMU111_DIR'] ?? '/var/cache/migwire/qemu-11.1';

/** Where discovery looks for a release (for messages). */
export function qemuInstallLocation(version: QemuVersion): string {
  switch (version) {
    case '10.0':
      return QEMU10_BIN;
    case '7.2':
      return QEMU72_CACHE;
    case '11.1':
      return QEMU111_ROOT;
  }
}

/** One release as found on disk, before its version is confirmed. */
type Candidate = Omit<QemuBinary, 'versionString'>;

/** An unpacked or rooted Debian tree: binary, modules and firmware under ROOT/usr. */
function debianTree(root: string): { executable: string; env: Record<string, string>; dataArgs: string[] } {
  return {
    executable: join(root, 'usr/bin/qemu-system-x86_64'),
    env: { QEMU_MODULE_DIR: join(root, 'usr/lib/x86_64-linux-gnu/qemu') },
    dataArgs: ['-L', join(root, 'usr/share/qemu'), '-L', join(root, 'usr/share/seabios')],
  };
}

function candidate(version: QemuVersion): Candidate {
  switch (version) {
    case '10.0':
      return { version, bin: QEMU10_BIN, executable: QEMU10_BIN, env: {}, extraArgs: [], defaultMachine: 'q35' };
    case '7.2': {
      const t = debianTree(QEMU72_CACHE);
      return { version, bin: t.executable, executable: t.executable, env: t.env, extraArgs: t.dataArgs, defaultMachine: 'pc-q35-7.2' };
    }
    case '11.1': {
      const t = debianTree(QEMU111_ROOT);
      const libraryPath = [join(QEMU111_ROOT, 'usr/lib/x86_64-linux-gnu'), join(QEMU111_ROOT, 'lib/x86_64-linux-gnu')].join(':');
      return {
        version,
        bin: join(QEMU111_ROOT, 'lib64/ld-linux-x86-64.so.2'),
        executable: t.executable,
        env: t.env,
        extraArgs: ['--library-path', libraryPath, t.executable, ...t.dataArgs],
        defaultMachine: 'q35',
      };
    }
  }
}

/** The arguments that run the binary itself (loader arguments included, -L data dirs not). */
function launchPrefix(c: Candidate): string[] {
  return c.bin === c.executable ? [] : c.extraArgs.slice(0, c.extraArgs.indexOf(c.executable) + 1);
}

function probe(c: Candidate): QemuBinary | null {
  if (!existsSync(c.bin) || !existsSync(c.executable)) return null;
  try {
    const out = execFileSync(c.bin, [...launchPrefix(c), '--version'], {
      env: { ...process.env, ...c.env },
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const line = out.split('\n')[0]?.trim() ?? '';
    return line.includes(`version ${c.version}.`) ? { ...c, versionString: line } : null;
  } catch {
    return null;
  }
}

const found = new Map<QemuVersion, QemuBinary | null>();

/** The installed release by name ('7.2' | '10.0' | '11.1'), or null when missing. Cached per process. */
export function qemuBinary(version: QemuVersion): QemuBinary | null {
  if (!found.has(version)) found.set(version, probe(candidate(version)));
  return found.get(version) ?? null;
}

/** Every known release, null where missing. */
export function qemuBinaries(): QemuBinaries {
  return Object.fromEntries(QEMU_RELEASES.map((v) => [v, qemuBinary(v)])) as QemuBinaries;
}

/** What to tell a user when a release is missing. */
export function missingQemuMessage(version: QemuVersion): string {
  return `QEMU ${version} not found (looked at ${qemuInstallLocation(version)}); install it with .ci/install-qemu.sh (as root)`;
}
