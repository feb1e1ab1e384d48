/**
 * A running QEMU with our guest: launched with the driver's command line under process hygiene
 * (process.ts), QMP connected, serial markers counted, stopped by PID.
 */

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { prepareVmFiles, qemuArgs } from './command-line.js';
import { forgetPid, ownDir, releaseDir, signalPid, spawnSupervised, type ExitInfo } from './process.js';
import { QmpClient, type Clock } from './qmp.js';
import { qemuBinary, type QemuBinary, type QemuVersion } from './releases.js';

export type VmRole = 'source' | 'destination';

export interface LaunchOptions {
  version: QemuVersion | QemuBinary;
  role: VmRole;
  /** Guest RAM in MiB (-m). */
  memMiB: number;
  /** Machine type; default the release's (QemuBinary.defaultMachine: q35, pc-q35-7.2 for 7.2). */
  machine?: string;
  /** Boot disk image (copied into the VM's folder) or a path to one (also copied). */
  bootDisk: Buffer | string;
  /** `-incoming defer`. Default: 'defer' for destinations, none for sources. */
  incoming?: 'defer' | null;
  /** `-S` (stay paused). Default: true for destinations, false for sources. */
  paused?: boolean;
  /** Appended to the command line. */
  extraArgs?: string[];
  /** Working folder (serial log, QMP socket, disk copy). Default: a new temp folder, removed by stop(). */
  dir?: string;
  /** Keep `dir` after stop(). Default: false for temp folders, true for given folders. */
  keepDir?: boolean;
  /** Shared clock for transcripts/timelines. */
  clock?: Clock;
  /** Write the QMP transcript (JSONL) to this path. */
  transcript?: string;
  /** -name. Default mw-src / mw-dst. */
  name?: string;
  /** Extra environment for QEMU (e.g. SSLKEYLOGFILE). */
  env?: Record<string, string>;
}

export interface MigrateStatus {
  status?: string;
  'error-desc'?: string;
  'total-time'?: number;
  downtime?: number;
  'setup-time'?: number;
  'expected-downtime'?: number;
  ram?: Record<string, number> & { 'dirty-sync-count'?: number; transferred?: number };
  'socket-address'?: { type: string; host?: string; port?: string | number; path?: string }[];
  [k: string]: unknown;
}

export class Vm {
  readonly qmp: QmpClient;
  readonly pid: number;
  private stderrBuf = '';
  private exitInfo: ExitInfo | null = null;
  private readonly exitPromise: Promise<ExitInfo>;
  private stopped = false;

  private constructor(
    readonly binary: QemuBinary,
    readonly role: VmRole,
    readonly memMiB: number,
    readonly machine: string,
    readonly argv: string[],
    readonly dir: string,
    readonly serialPath: string,
    readonly marker: number,
    private readonly keepDir: boolean,
    private readonly child: ChildProcess,
    exitPromise: Promise<ExitInfo>,
  ) {
    this.pid = child.pid ?? -1;
    this.qmp = null as unknown as QmpClient; // set by launch() once connected
    this.exitPromise = exitPromise;
    child.stdout?.on('data', (d: Buffer) => this.appendOutput(d));
    child.stderr?.on('data', (d: Buffer) => this.appendOutput(d));
    void exitPromise.then((e) => {
      this.exitInfo = e;
    });
  }

  /** Start QEMU and connect QMP. On any failure the process is stopped before the error is thrown. */
  static async launch(opts: LaunchOptions): Promise<Vm> {
    const binary = typeof opts.version === 'string' ? qemuBinary(opts.version) : opts.version;
    if (!binary) throw new Error(`QEMU ${String(opts.version)} is not installed (run .ci/install-qemu.sh)`);
    const isDst = opts.role === 'destination';
    const machine = opts.machine ?? binary.defaultMachine;
    // Short prefix: unix socket paths are limited to 107 bytes.
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'mwq-'));
    const keepDir = opts.keepDir ?? opts.dir !== undefined;
    if (!keepDir) ownDir(dir);
    const tag = isDst ? 'dst' : 'src';
    const files = prepareVmFiles(dir, tag, opts.bootDisk);
    const args = qemuArgs(binary, files, {
      name: opts.name ?? `mw-${tag}`,
      machine,
      memMiB: opts.memMiB,
      incoming: opts.incoming === undefined ? (isDst ? 'defer' : null) : opts.incoming,
      paused: opts.paused ?? isDst,
      ...(opts.extraArgs ? { extraArgs: opts.extraArgs } : {}),
    });
    const proc = spawnSupervised(binary.bin, args, { env: { ...process.env, ...binary.env, ...(opts.env ?? {}) }, cwd: dir });
    const vm = new Vm(binary, opts.role, opts.memMiB, machine, [binary.bin, ...args], dir, files.serialPath, files.marker, keepDir, proc.child, proc.exited);
    try {
      if (proc.child.pid === undefined) throw new Error(`could not start ${proc.command}`);
      const qmp = await QmpClient.connect(files.qmpPath, {
        timeoutMs: 15_000,
        ...(opts.clock ? { clock: opts.clock } : {}),
        ...(opts.transcript ? { transcript: opts.transcript } : {}),
        idPrefix: tag,
        shouldRetry: () => !vm.exited,
      });
      (vm as { qmp: QmpClient }).qmp = qmp;
      return vm;
    } catch (e) {
      await vm.stop();
      throw new Error(`QEMU ${binary.version} ${opts.role} failed to start: ${String(e)}\n${vm.output}`);
    }
  }

  private appendOutput(d: Buffer): void {
    if (this.stderrBuf.length < 64 * 1024) this.stderrBuf += d.toString('utf8');
  }

  /** QEMU's stdout+stderr so far (first 64 KiB). */
  get output(): string {
    return this.stderrBuf;
  }

  get exited(): boolean {
    return this.exitInfo !== null;
  }

  get exitStatus(): ExitInfo | null {
    return this.exitInfo;
  }

  /**
   * Guest passes completed so far: marker bytes after the last non-marker byte of the serial log
   * (SeaBIOS prints a banner to the same port before our sector runs).
   */
  countMarkers(): number {
    let buf: Buffer;
    try {
      buf = readFileSync(this.serialPath);
    } catch {
      return 0;
    }
    let i = buf.length;
    while (i > 0 && buf[i - 1] === this.marker) i--;
    return buf.length - i;
  }

  /** Wait until at least `n` markers are in the serial log. Returns the count. */
  async waitForMarkers(n: number, timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = this.countMarkers();
      if (c >= n) return c;
      if (this.exited) throw new Error(`QEMU ${this.role} exited while waiting for markers\n${this.output}`);
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${n} serial markers from the ${this.role} (have ${c})`);
      }
      await delay(20);
    }
  }

  queryMigrate(): Promise<MigrateStatus> {
    return this.qmp.execute<MigrateStatus>('query-migrate');
  }

  /** Run state from query-status, e.g. running, paused, postmigrate, inmigrate. */
  async runState(): Promise<string> {
    const r = await this.qmp.execute<{ status: string }>('query-status');
    return r.status;
  }

  /** Resolves when the process has exited (or after timeoutMs: false). */
  async waitExit(timeoutMs: number): Promise<boolean> {
    if (this.exitInfo) return true;
    const r = await Promise.race([this.exitPromise.then(() => true), delay(timeoutMs).then(() => false)]);
    return r;
  }

  /**
   * Stop the VM by PID: QMP `quit` (2 s), then SIGTERM (3 s), then SIGKILL. Idempotent; never
   * throws. Removes the temp folder it created unless keepDir.
   */
  async stop(): Promise<void> {
    if (this.stopped) {
      await this.waitExit(5000);
      return;
    }
    this.stopped = true;
    try {
      if (!this.exited && this.qmp && !this.qmp.closed) {
        try {
          await this.qmp.execute('quit', undefined, { timeoutMs: 2000 });
        } catch {
          /* the connection closing under us is the normal outcome */
        }
        await this.waitExit(3000);
      }
      if (!this.exited) {
        this.signal('SIGTERM');
        await this.waitExit(3000);
      }
      if (!this.exited) {
        this.signal('SIGKILL');
        await this.waitExit(5000);
      }
    } finally {
      this.qmp?.close();
      if (this.exited) forgetPid(this.child.pid);
      if (!this.keepDir) releaseDir(this.dir);
    }
  }

  private signal(sig: NodeJS.Signals): void {
    if (!this.exited) signalPid(this.pid, sig);
  }
}

/** Launch a VM (see LaunchOptions). Stop it with `vm.stop()` in a finally block. */
export function launchVm(opts: LaunchOptions): Promise<Vm> {
  return Vm.launch(opts);
}

