/**
 * Process hygiene for every QEMU the driver starts (see QEMU-HARNESS.md, "Hygiene"):
 *  - each QEMU runs under `setpriv --pdeathsig KILL` (when setpriv exists) so it dies with its
 *    parent;
 *  - a process 'exit' hook SIGKILLs, by PID, any QEMU still running and removes the temp folders
 *    the driver created;
 *  - stopping is by PID, never by name.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Map<number, ChildProcess>();
/** Temp folders created for VMs and not yet removed. */
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [pid] of live) signalPid(pid, 'SIGKILL');
    for (const d of ownedDirs) removeDir(d);
  });
}

function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* best effort */
  }
}

/** Remove `dir` when this process exits, unless released earlier with releaseDir. */
export function ownDir(dir: string): void {
  installExitHook();
  ownedDirs.add(dir);
}

/** Remove an owned folder now. */
export function releaseDir(dir: string): void {
  removeDir(dir);
  ownedDirs.delete(dir);
}

/** Send a signal by PID; a process already gone is not an error. */
export function signalPid(pid: number, sig: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

let setprivPath: string | null | undefined;
function findSetpriv(): string | null {
  if (setprivPath === undefined) setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;
  return setprivPath;
}

export interface Supervised {
  child: ChildProcess;
  /** The program actually executed (setpriv or the command itself). */
  command: string;
  /** Resolves once the process has exited (or failed to start). */
  exited: Promise<ExitInfo>;
}

/**
 * Spawn `bin args` with stdout/stderr piped, tied to this process's life: parent-death signal,
 * registered for the exit hook until it exits.
 */
export function spawnSupervised(bin: string, args: string[], o: { env: NodeJS.ProcessEnv; cwd: string }): Supervised {
  installExitHook();
  const setpriv = findSetpriv();
  const [command, commandArgs] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
  const child = spawn(command, commandArgs, { env: o.env, stdio: ['ignore', 'pipe', 'pipe'], cwd: o.cwd });
  let info: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    const done = (e: ExitInfo): void => {
      info = info ?? e;
      if (child.pid !== undefined) live.delete(child.pid);
      resolve(info);
    };
    child.once('exit', (code, signal) => done({ code, signal }));
    child.once('error', () => done({ code: null, signal: null }));
  });
  if (child.pid !== undefined) live.set(child.pid, child);
  return { child, command, exited };
}

/** Forget a process that has exited (the exit hook no longer needs to kill it). */
export function forgetPid(pid: number | undefined): void {
  if (pid !== undefined) live.delete(pid);
}
