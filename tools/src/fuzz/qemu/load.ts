/**
 * One input against a real destination QEMU: a fresh `-incoming defer` VM shaped like the seed's
 * destination (machine, RAM, capabilities), `migrate-incoming exec:cat FILE`, and the outcome read
 * from QMP and the process. A failed load leaves QEMU unable to take another, so nothing is reused.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { launchVm, makeBootDisk, QmpError, qemuBinary, shellQuote, type QemuBinary, type QemuVersion, type Vm } from '@migwire/qemu';
import type { SeedTarget } from '../seed.js';

export type QemuOutcomeClass = 'loaded' | 'rejected' | 'crashed' | 'hung';

export interface QemuOutcome {
  outcome: QemuOutcomeClass;
  /** QEMU's own words: error-desc from query-migrate and the lines it printed. */
  message: string;
  /** Crashed: the signal that ended the process. */
  signal?: string;
  /** Crashed: whether it died loading or once the guest ran after a completed load. */
  phase?: 'load' | 'after-cont';
  /** Last lines of QEMU's output (crashes and hangs). */
  stderrTail?: string;
  /** Last query-migrate status seen (hangs). */
  status?: string;
  ms: number;
}

export interface LoadOptions {
  qemu: QemuVersion;
  target: SeedTarget;
  /** A load still not completed or failed after this long is a hang. */
  timeoutMs: number;
  /** After a completed load, run the guest this long to see whether QEMU survives it. Default 300. */
  contMs?: number;
  /** Called once the destination is up (tests use it to act on the process). */
  onLaunched?: (vm: Vm) => void;
}

let bootDisk: Buffer | undefined;

function tail(s: string, lines = 12): string {
  return s.trimEnd().split('\n').slice(-lines).join('\n');
}

/** QEMU's lines without the prefix, and the generic last line dropped when a specific one precedes it. */
export function qemuMessage(errorDesc: string | undefined, output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.replace(/^qemu-system-[a-z0-9_]+: /, '').trim())
    .filter((l) => l.length > 0);
  const parts = [...lines];
  if (errorDesc && !parts.includes(errorDesc)) parts.push(errorDesc);
  return parts.join(' | ') || errorDesc || '';
}

/** Shell line that loads FILE the way the campaign did, with nothing but QEMU. */
export function reproductionCommand(binary: QemuBinary, target: SeedTarget, file: string): string {
  const env = Object.entries(binary.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  const caps = Object.entries(target.caps).filter(([, on]) => on);
  const args = [
    ...binary.extraArgs.map(shellQuote),
    '-M', target.machine, '-accel', 'tcg', '-m', `${target.memMiB}M`, '-nographic', '-nodefaults', '-S',
    ...target.devices.map(shellQuote),
    ...caps.flatMap(([c]) => ['-global', `migration.x-${c}=on`]),
    '-incoming', shellQuote(`exec:cat ${shellQuote(file)}`),
  ];
  return [...(env.length ? ['env', ...env] : []), binary.bin, ...args].join(' ');
}

export async function loadInQemu(file: string, o: LoadOptions): Promise<QemuOutcome> {
  const binary = qemuBinary(o.qemu);
  if (!binary) throw new Error(`QEMU ${o.qemu} is not installed`);
  bootDisk ??= makeBootDisk();
  const t0 = performance.now();
  const vm = await launchVm({ version: binary, role: 'destination', memMiB: o.target.memMiB, machine: o.target.machine, bootDisk, extraArgs: o.target.devices });
  try {
    o.onLaunched?.(vm);
    const caps = Object.entries(o.target.caps);
    if (caps.length) {
      await vm.qmp.execute('migrate-set-capabilities', { capabilities: caps.map(([capability, state]) => ({ capability, state })) });
    }
    // 9.1+ can stay up after a failed load and say why in query-migrate; 7.2 exits instead.
    const args: Record<string, unknown> = { uri: `exec:cat ${shellQuote(file)}` };
    if (o.qemu !== '7.2') args['exit-on-error'] = false;
    try {
      await vm.qmp.execute('migrate-incoming', args);
    } catch (e) {
      if (!(e instanceof QmpError)) return await afterExit(vm, t0, 'load');
      throw e;
    }
    return await watch(vm, o, t0);
  } finally {
    await vm.stop();
  }
}

async function watch(vm: Vm, o: LoadOptions, t0: number): Promise<QemuOutcome> {
  const deadline = t0 + o.timeoutMs;
  let status = 'setup';
  for (;;) {
    if (vm.exited) return afterExit(vm, t0, 'load');
    const q = await vm.queryMigrate().catch(() => null);
    if (!q) {
      // The QMP socket went away: the process is dying; let it finish.
      await vm.waitExit(3000);
      if (vm.exited) return afterExit(vm, t0, 'load');
    } else {
      status = q.status ?? status;
      if (status === 'completed') return afterLoad(vm, o, t0);
      if (status === 'failed') {
        await delay(30); // QEMU's lines reach us through a pipe, after the status changed
        return { outcome: 'rejected', message: qemuMessage(q['error-desc'], vm.output), ms: performance.now() - t0 };
      }
    }
    if (performance.now() > deadline) {
      return { outcome: 'hung', message: `no outcome after ${o.timeoutMs} ms (status ${status})`, status, stderrTail: tail(vm.output), ms: performance.now() - t0 };
    }
    await delay(15);
  }
}

/** A completed load: let the guest run briefly, since device state is used only then. */
async function afterLoad(vm: Vm, o: LoadOptions, t0: number): Promise<QemuOutcome> {
  const ms = performance.now() - t0;
  try {
    await vm.qmp.execute('cont');
  } catch {
    /* a dying QEMU is seen below */
  }
  await vm.waitExit(o.contMs ?? 300);
  if (vm.exited) return afterExit(vm, t0, 'after-cont');
  return { outcome: 'loaded', message: qemuMessage(undefined, vm.output), ms };
}

async function afterExit(vm: Vm, t0: number, phase: 'load' | 'after-cont'): Promise<QemuOutcome> {
  await vm.waitExit(3000);
  await delay(30);
  const st = vm.exitStatus;
  const ms = performance.now() - t0;
  if (st?.signal) {
    return { outcome: 'crashed', message: `killed by ${st.signal}${phase === 'after-cont' ? ' after the guest was started' : ' while loading'}`, signal: st.signal, phase, stderrTail: tail(vm.output), ms };
  }
  // Exiting with a status is how QEMU rejects a stream when it may not stay up (7.2).
  if (phase === 'after-cont') return { outcome: 'loaded', message: `QEMU exited with status ${st?.code ?? '?'} after the guest was started: ${qemuMessage(undefined, vm.output)}`, ms };
  return { outcome: 'rejected', message: qemuMessage(undefined, vm.output) || `QEMU exited with status ${st?.code ?? '?'}`, ms };
}
