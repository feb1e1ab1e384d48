/**
 * Launch and drive real QEMU processes for migration tests.
 *
 * Hygiene (see /work/shared/QEMU-HARNESS.md):
 *  - every QEMU runs under `setpriv --pdeathsig KILL` (when setpriv exists) so it dies with its
 *    parent, and a process 'exit' hook SIGKILLs any still-running VM by PID;
 *  - `Vm.stop()` stops by PID: QMP `quit`, then SIGTERM, then SIGKILL, each with a timeout;
 *  - QMP and serial live in a per-VM temp folder (unix socket, no TCP port);
 *  - migration listeners use `tcp:127.0.0.1:0` and the real port is read back.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync, writeFileSync, copyFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Clock, QmpClient, QmpError } from './qmp.js';
import { DEFAULT_MARKER, MiB, readBootParams } from './guest.js';

export type QemuVersion = '10.0' | '7.2';

export interface QemuBinary {
  version: QemuVersion;
  /** Path of qemu-system-x86_64. */
  bin: string;
  /** Extra environment (QEMU_MODULE_DIR for the unpacked 7.2). */
  env: Record<string, string>;
  /** Extra arguments placed before ours (-L data dirs for the unpacked 7.2). */
  extraArgs: string[];
  /** First line of `--version`. */
  versionString: string;
  /** Machine type used when none is given. */
  defaultMachine: string;
}

export interface QemuBinaries {
  v10: QemuBinary | null;
  v72: QemuBinary | null;
}

/** Where .ci/install-qemu.sh unpacks QEMU 7.2. */
export const QEMU72_CACHE = process.env.MIGWIRE_QEMU72_DIR ?? '/var/cache/migwire/qemu-7.2';
/** Where .ci/install-qemu.sh installs QEMU 10.0. */
export const QEMU10_BIN = process.env.MIGWIRE_QEMU10_BIN ?? '/usr/bin/qemu-system-x86_64';

function probeVersion(bin: string, env: Record<string, string>, want: string): string | null {
  if (!existsSync(bin)) return null;
  try {
    const out = execFileSync(bin, ['--version'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const line = out.split('\n')[0]?.trim() ?? '';
    return line.includes(`version ${want}.`) ? line : null;
  } catch {
    return null;
  }
}

let cachedBinaries: QemuBinaries | undefined;

/** Locate QEMU 10.0 and 7.2 (null when missing). Result cached per process. */
export function qemuBinaries(): QemuBinaries {
  if (cachedBinaries) return cachedBinaries;
  const v10line = probeVersion(QEMU10_BIN, {}, '10.0');
  const bin72 = join(QEMU72_CACHE, 'usr/bin/qemu-system-x86_64');
  const env72 = { QEMU_MODULE_DIR: join(QEMU72_CACHE, 'usr/lib/x86_64-linux-gnu/qemu') };
  const v72line = probeVersion(bin72, env72, '7.2');
  cachedBinaries = {
    v10: v10line
      ? { version: '10.0', bin: QEMU10_BIN, env: {}, extraArgs: [], versionString: v10line, defaultMachine: 'q35' }
      : null,
    v72: v72line
      ? {
          version: '7.2',
          bin: bin72,
          env: env72,
          extraArgs: ['-L', join(QEMU72_CACHE, 'usr/share/qemu'), '-L', join(QEMU72_CACHE, 'usr/share/seabios')],
          versionString: v72line,
          defaultMachine: 'pc-q35-7.2',
        }
      : null,
  };
  return cachedBinaries;
}

export function qemuBinary(version: QemuVersion): QemuBinary | null {
  const b = qemuBinaries();
  return version === '10.0' ? b.v10 : b.v72;
}

/** The subset of ava's ExecutionContext requireQemu needs (keeps ava out of the harness). */
export interface TestContextLike {
  title: string;
  log(...values: unknown[]): void;
  pass(message?: string): void;
  fail(message?: string): void;
}

/**
 * For ava tests: returns the binary, or null when this QEMU is missing. When missing, outside CI
 * the test is passed with a "SKIPPED" log line (ava cannot skip at run time; declare with
 * `qemuBinary(v) ? test : test.skip` for a real skip); with CI=true it fails with a clear message.
 */
export function requireQemu(t: TestContextLike, version: QemuVersion): QemuBinary | null {
  const b = qemuBinary(version);
  if (b) return b;
  const where = version === '10.0' ? QEMU10_BIN : QEMU72_CACHE;
  const msg = `QEMU ${version} not found (looked at ${where}); install it with .ci/install-qemu.sh (as root)`;
  if (process.env.CI === 'true') {
    t.fail(`${msg}. CI=true: QEMU-backed tests must not be skipped.`);
  } else {
    t.log(`SKIPPED: ${msg}`);
    t.pass();
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: kill anything still alive when this process exits.

const live = new Map<number, ChildProcess>();
/** Temp folders created by launchVm and not yet removed by stop(). */
const ownedDirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [pid] of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const d of ownedDirs) {
      try {
        rmSync(d, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
}

let setprivPath: string | null | undefined;
function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  for (const p of ['/usr/bin/setpriv', '/bin/setpriv']) {
    if (existsSync(p)) {
      setprivPath = p;
      break;
    }
  }
  return setprivPath;
}

// ---------------------------------------------------------------------------------------------

export type VmRole = 'source' | 'destination';

export interface LaunchOptions {
  version: QemuVersion | QemuBinary;
  role: VmRole;
  /** Guest RAM in MiB (-m). */
  memMiB: number;
  /** Machine type; default q35 (10.0) or pc-q35-7.2 (7.2). */
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
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exitPromise: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
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
    qmp: QmpClient | null,
    exitPromise: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  ) {
    this.pid = child.pid ?? -1;
    this.qmp = qmp as QmpClient;
    this.exitPromise = exitPromise;
  }

  /** Start QEMU and connect QMP. On any failure the process is stopped before the error is thrown. */
  static async launch(opts: LaunchOptions): Promise<Vm> {
    const binary = typeof opts.version === 'string' ? qemuBinary(opts.version) : opts.version;
    if (!binary) throw new Error(`QEMU ${String(opts.version)} is not installed (run .ci/install-qemu.sh)`);
    const isDst = opts.role === 'destination';
    const incoming = opts.incoming === undefined ? (isDst ? 'defer' : null) : opts.incoming;
    const paused = opts.paused ?? isDst;
    const machine = opts.machine ?? binary.defaultMachine;
    installExitHook();
    const ownDir = opts.dir === undefined;
    // Short prefix: unix socket paths are limited to 107 bytes.
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'mwq-'));
    const keepDir = opts.keepDir ?? !ownDir;
    if (!keepDir) ownedDirs.add(dir);
    const tag = isDst ? 'dst' : 'src';
    const disk = join(dir, `boot-${tag}.img`);
    let marker = DEFAULT_MARKER;
    if (typeof opts.bootDisk === 'string') {
      copyFileSync(opts.bootDisk, disk);
      try {
        marker = readBootParams(readFileSync(disk).subarray(0, 512)).marker;
      } catch {
        /* foreign image: keep default marker */
      }
    } else {
      writeFileSync(disk, opts.bootDisk);
      try {
        marker = readBootParams(opts.bootDisk).marker;
      } catch {
        /* foreign image */
      }
    }
    const serialPath = join(dir, `serial-${tag}.log`);
    const qmpPath = join(dir, `qmp-${tag}.sock`);
    writeFileSync(serialPath, '');
    const args = [
      ...binary.extraArgs,
      '-name', opts.name ?? `mw-${tag}`,
      '-M', machine,
      '-accel', 'tcg',
      '-m', `${opts.memMiB}M`,
      '-nographic',
      '-nodefaults',
      '-serial', `file:${serialPath}`,
      '-drive', `file=${disk},format=raw,if=ide`,
      '-qmp', `unix:${qmpPath},server=on,wait=off`,
    ];
    if (incoming) args.push('-incoming', incoming);
    if (paused) args.push('-S');
    args.push(...(opts.extraArgs ?? []));

    const setpriv = findSetpriv();
    const [cmd, cmdArgs] = setpriv
      ? [setpriv, ['--pdeathsig', 'KILL', '--', binary.bin, ...args]]
      : [binary.bin, args];
    const child = spawn(cmd, cmdArgs, {
      env: { ...process.env, ...binary.env, ...(opts.env ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: dir,
    });
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = { code, signal };
        if (child.pid !== undefined) live.delete(child.pid);
        resolve(exitInfo);
      });
      child.once('error', () => {
        exitInfo = exitInfo ?? { code: null, signal: null };
        if (child.pid !== undefined) live.delete(child.pid);
        resolve(exitInfo);
      });
    });
    if (child.pid !== undefined) live.set(child.pid, child);

    const vm = new Vm(
      binary, opts.role, opts.memMiB, machine, [binary.bin, ...args], dir, serialPath, marker,
      keepDir, child, null, exitPromise,
    );
    // Forward output collection to the instance.
    child.stdout?.on('data', (d: Buffer) => vm.appendOutput(d));
    child.stderr?.on('data', (d: Buffer) => vm.appendOutput(d));
    void exitPromise.then((e) => {
      vm.exitInfo = e;
    });
    try {
      if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
      const qmp = await QmpClient.connect(qmpPath, {
        timeoutMs: 15_000,
        ...(opts.clock ? { clock: opts.clock } : {}),
        ...(opts.transcript ? { transcript: opts.transcript } : {}),
        idPrefix: tag,
        shouldRetry: () => exitInfo === null,
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

  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | null {
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
      if (this.child.pid !== undefined && this.exited) live.delete(this.child.pid);
      if (!this.keepDir) {
        rmSync(this.dir, { recursive: true, force: true });
        ownedDirs.delete(this.dir);
      }
    }
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.exited || this.pid <= 0) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      /* gone */
    }
  }
}

/** Launch a VM (see LaunchOptions). Stop it with `vm.stop()` in a finally block. */
export function launchVm(opts: LaunchOptions): Promise<Vm> {
  return Vm.launch(opts);
}

// ---------------------------------------------------------------------------------------------
// Migration flows

export interface HoldControl {
  /** Keep `params` on the source until ram.dirty-sync-count reaches this. */
  syncs: number;
  /** Parameters set on the source before `migrate` (forces several rounds). */
  params: Record<string, unknown>;
  /** Parameters set once the sync count is reached (lets it converge). */
  release: Record<string, unknown>;
  /** Also switch to postcopy (`migrate-start-postcopy`) at release. */
  startPostcopy?: boolean;
}

/** The non-convergence control from QEMU-HARNESS.md. */
export const DEFAULT_HOLD: HoldControl = {
  syncs: 2,
  params: { 'downtime-limit': 1, 'max-bandwidth': 32 * MiB },
  release: { 'downtime-limit': 2000, 'max-bandwidth': 128 * MiB },
};

export interface TimelineEntry {
  t: number;
  event: string;
  [k: string]: unknown;
}

export interface SetupCall {
  side: 'src' | 'dst';
  command: string;
  arguments: Record<string, unknown>;
  ok: boolean;
  error: string | null;
}

export interface MigrationOptions {
  source?: Vm;
  destination?: Vm;
  /** Capabilities for both sides. */
  caps?: Record<string, boolean>;
  /** Parameters for both sides. */
  params?: Record<string, unknown>;
  srcParams?: Record<string, unknown>;
  dstParams?: Record<string, unknown>;
  /**
   * Source URI (`migrate`). `tcp` alone means: listen on the destination with
   * `tcp:127.0.0.1:0` and connect the source to the real port.
   */
  uri?: string;
  /** Destination URI (`migrate-incoming`). Default: the source URI (or tcp:127.0.0.1:0). */
  incomingUri?: string;
  /**
   * Put something between the two (a proxy): given the URI the destination listens on, return
   * the URI the source should connect to.
   */
  interpose?: (destinationUri: string) => Promise<string>;
  /** Non-convergence control; null to migrate as fast as QEMU likes. Default DEFAULT_HOLD. */
  hold?: HoldControl | null;
  /** Serial markers to wait for on the source before `migrate`. Default 200. */
  waitMarkers?: number;
  pollMs?: number;
  timeoutMs?: number;
  clock?: Clock;
}

export interface MigrationResult {
  /** completed | failed | rejected (a setup command was refused) */
  status: 'completed' | 'failed' | 'rejected';
  reason: string | null;
  src_status: string | null;
  dst_status: string | null;
  total_time_ms: number | null;
  downtime_ms: number | null;
  setup_time_ms: number | null;
  dirty_sync_count: number | null;
  ram_transferred: number | null;
  /** Wall time from `migrate` (or `migrate-incoming` for load-only) to the end, ms. */
  wall_ms: number;
  markers_before: number | null;
  src_final: MigrateStatus | null;
  dst_final: MigrateStatus | null;
  setup: SetupCall[];
  timeline: TimelineEntry[];
  uri: string | null;
  incoming_uri: string | null;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

function capsArg(caps: Record<string, boolean>): Record<string, unknown> {
  return { capabilities: Object.entries(caps).map(([capability, state]) => ({ capability, state })) };
}

/** Quote for /bin/sh (exec: URIs). */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Generic migration driver. With a source: set caps/params (plus the hold params), wait for the
 * guest to run, `migrate`, poll `query-migrate` every pollMs, release the hold once
 * dirty-sync-count reaches hold.syncs. With a destination: set caps/params and `migrate-incoming`
 * first (tcp: the real port is read back), and poll it too. Returns when every side involved is
 * completed/failed (or its process died). QEMU refusing a setup command gives status `rejected`.
 */
export async function runMigration(o: MigrationOptions): Promise<MigrationResult> {
  const clock = o.clock ?? o.source?.qmp.clock ?? o.destination?.qmp.clock ?? new Clock();
  const pollMs = o.pollMs ?? 100;
  const timeoutMs = o.timeoutMs ?? 120_000;
  const hold = o.hold === undefined ? DEFAULT_HOLD : o.hold;
  const caps = o.caps ?? {};
  const setup: SetupCall[] = [];
  const timeline: TimelineEntry[] = [];
  const ev = (event: string, extra: Record<string, unknown> = {}) => timeline.push({ t: clock.now(), event, ...extra });
  const result: MigrationResult = {
    status: 'failed', reason: null, src_status: null, dst_status: null, total_time_ms: null,
    downtime_ms: null, setup_time_ms: null, dirty_sync_count: null, ram_transferred: null, wall_ms: 0,
    markers_before: null, src_final: null, dst_final: null, setup, timeline, uri: null, incoming_uri: null,
  };
  const call = async (vm: Vm, side: 'src' | 'dst', command: string, args: Record<string, unknown>) => {
    try {
      await vm.qmp.execute(command, args);
      setup.push({ side, command, arguments: args, ok: true, error: null });
      return true;
    } catch (e) {
      const msg = e instanceof QmpError ? `${e.errorClass}: ${e.desc}` : String(e);
      setup.push({ side, command, arguments: args, ok: false, error: msg });
      result.status = 'rejected';
      result.reason = `${side} ${command}: ${msg}`;
      return false;
    }
  };
  const configure = async (vm: Vm, side: 'src' | 'dst', params: Record<string, unknown>) => {
    if (Object.keys(caps).length > 0 && !(await call(vm, side, 'migrate-set-capabilities', capsArg(caps)))) return false;
    if (Object.keys(params).length > 0 && !(await call(vm, side, 'migrate-set-parameters', params))) return false;
    return true;
  };

  const src = o.source;
  const dst = o.destination;
  let srcUri = o.uri ?? null;
  const isTcp = srcUri === 'tcp' || (srcUri === null && dst !== undefined && o.incomingUri === undefined);

  // Destination first.
  if (dst) {
    if (!(await configure(dst, 'dst', { ...(o.params ?? {}), ...(o.dstParams ?? {}) }))) return result;
    const inUri = o.incomingUri ?? (isTcp ? 'tcp:127.0.0.1:0' : srcUri);
    if (!inUri) throw new Error('runMigration: destination without an incoming URI');
    result.incoming_uri = inUri;
    if (!(await call(dst, 'dst', 'migrate-incoming', { uri: inUri }))) return result;
    ev('migrate-incoming', { uri: inUri });
    if (isTcp) {
      const q = await dst.queryMigrate();
      const port = q['socket-address']?.[0]?.port;
      if (port === undefined) throw new Error(`destination reported no listening port: ${JSON.stringify(q)}`);
      srcUri = `tcp:127.0.0.1:${String(port)}`;
    }
    if (o.interpose && srcUri) srcUri = await o.interpose(srcUri);
  }
  let t0 = performance.now();
  if (src) {
    if (!srcUri || srcUri === 'tcp') throw new Error('runMigration: no source URI');
    result.uri = srcUri;
    const srcParams = { ...(o.params ?? {}), ...(o.srcParams ?? {}), ...(hold ? hold.params : {}) };
    if (!(await configure(src, 'src', srcParams))) return result;
    const want = o.waitMarkers ?? 200;
    if (want > 0) {
      result.markers_before = await src.waitForMarkers(want);
      ev('src-guest-running', { markers: result.markers_before });
    }
    t0 = performance.now();
    if (!(await call(src, 'src', 'migrate', { uri: srcUri }))) return result;
    ev('migrate', { uri: srcUri });
  } else {
    t0 = performance.now();
  }

  // Poll.
  let srcDone = !src;
  let dstDone = !dst;
  let released = !hold;
  let lastSrc: string | undefined;
  let lastDst: string | undefined;
  const deadline = Date.now() + timeoutMs;
  while (!srcDone || !dstDone) {
    if (Date.now() > deadline) {
      result.status = 'failed';
      result.reason = `timed out after ${timeoutMs} ms (src ${lastSrc ?? '-'}, dst ${lastDst ?? '-'})`;
      break;
    }
    if (src && !srcDone) {
      if (src.exited) {
        srcDone = true;
        result.src_status = 'exited';
        result.reason ??= `source QEMU exited: ${src.output.trim()}`;
      } else {
        const q = await src.queryMigrate().catch(() => null);
        if (q) {
          result.src_final = q;
          const sync = q.ram?.['dirty-sync-count'] ?? 0;
          if (q.status !== lastSrc) {
            lastSrc = q.status;
            ev('src-status', { status: q.status, dirty_sync_count: sync });
          }
          if (!released && hold && sync >= hold.syncs && q.status === 'active') {
            released = true;
            try {
              await src.qmp.execute('migrate-set-parameters', hold.release);
              ev('release', { dirty_sync_count: sync, params: hold.release });
              if (hold.startPostcopy) {
                await src.qmp.execute('migrate-start-postcopy', {});
                ev('migrate-start-postcopy', { dirty_sync_count: sync });
              }
            } catch (e) {
              ev('release-failed', { dirty_sync_count: sync, error: String(e) });
            }
          }
          if (q.status && TERMINAL.has(q.status)) {
            srcDone = true;
            result.src_status = q.status;
            if (q.status !== 'completed') result.reason ??= `source: ${q['error-desc'] ?? q.status}`;
          }
        }
      }
    }
    if (dst && !dstDone) {
      if (dst.exited) {
        dstDone = true;
        result.dst_status = 'exited';
        result.reason ??= `destination QEMU exited: ${dst.output.trim()}`;
      } else {
        const q = await dst.queryMigrate().catch(() => null);
        if (q) {
          result.dst_final = q;
          if (q.status !== lastDst) {
            lastDst = q.status;
            ev('dst-status', { status: q.status });
          }
          if (q.status && TERMINAL.has(q.status)) {
            dstDone = true;
            result.dst_status = q.status;
            if (q.status !== 'completed') result.reason ??= `destination: ${q['error-desc'] ?? q.status}`;
          }
        }
      }
    }
    if (!srcDone || !dstDone) await delay(pollMs);
  }
  result.wall_ms = Math.round(performance.now() - t0);
  const okSrc = !src || result.src_status === 'completed';
  const okDst = !dst || result.dst_status === 'completed';
  result.status = okSrc && okDst ? 'completed' : 'failed';
  const f = result.src_final;
  if (f) {
    result.total_time_ms = f['total-time'] ?? null;
    result.downtime_ms = f.downtime ?? null;
    result.setup_time_ms = f['setup-time'] ?? null;
    result.dirty_sync_count = f.ram?.['dirty-sync-count'] ?? null;
    result.ram_transferred = f.ram?.transferred ?? null;
  }
  return result;
}

/** URIs for writing / reading a migration file. */
export function fileUris(kind: 'file' | 'exec', path: string): { write: string; read: string } {
  return kind === 'file'
    ? { write: `file:${path}`, read: `file:${path}` }
    : { write: `exec:cat > ${shellQuote(path)}`, read: `exec:cat ${shellQuote(path)}` };
}

/** Migrate the source to a file (`file:` on 10.0, or `exec:cat > PATH`). */
export function migrateToFile(
  o: Omit<MigrationOptions, 'destination' | 'uri' | 'incomingUri'> & { source: Vm; path: string; kind: 'file' | 'exec' },
): Promise<MigrationResult> {
  const { path, kind, ...rest } = o;
  return runMigration({ ...rest, uri: fileUris(kind, path).write });
}

/** Load a migration file into a destination started with `-incoming defer`. */
export function loadFromFile(
  o: Omit<MigrationOptions, 'source' | 'uri' | 'incomingUri' | 'hold' | 'waitMarkers'> & {
    destination: Vm;
    path: string;
    kind: 'file' | 'exec';
  },
): Promise<MigrationResult> {
  const { path, kind, ...rest } = o;
  if (!existsSync(path) || statSync(path).size === 0) {
    return Promise.reject(new Error(`migration file ${path} is missing or empty`));
  }
  return runMigration({ ...rest, incomingUri: fileUris(kind, path).read, hold: null, waitMarkers: 0 });
}
