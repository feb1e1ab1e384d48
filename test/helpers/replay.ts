/**
 * What the `migwire replay` interop tests share: where the captures are, a fresh destination set
 * up and replayed into (library or CLI), and the RAM the original destination had at switchover.
 */
import type { ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientTlsOptions, qemuTlsObjectArgs, type TlsCredentials } from '@migwire/channel-manager';
import { main, MemoryOutput, prepareDestination, replayCapture, runExtract, type ReplayReport, type ReplayTiming } from 'migwire';
import { makeBootDisk } from '../harness/guest.js';
import { launchVm, type QemuVersion, type Vm } from '../harness/qemu.js';

/** Guest RAM in MiB, source and destination alike. */
export const MEM = 128;
export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let found = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(found, 'pnpm-workspace.yaml'))) found = dirname(found);
/** The monorepo's root folder. */
export const root = found;
/** The real captures the project grew from: the repo's own copies in fixtures/. */
export const SHARED = process.env['MIGWIRE_SHARED_CAPTURES'] ?? resolve(root, 'fixtures');
export const haveShared = existsSync(join(SHARED, '10.0-g-postcopy-preempt')) || process.env['CI'] === 'true';

export interface ReplayInto {
  version: QemuVersion;
  machine?: string;
  caps?: Record<string, boolean>;
  params?: Record<string, unknown>;
  timing?: ReplayTiming;
  /** Postcopy: the destination runs (its faults are what postcopy serves). */
  running?: boolean;
  /** QEMU >= 9.1: stay alive after a failed load so QMP shows the error. */
  exitOnError?: boolean;
  /** Run through the CLI instead of the library (report from --json). */
  cli?: boolean;
  /** x509 TLS toward the destination: the folder (QEMU's tls-creds-x509 object) and the credentials. */
  tls?: { dir: string; creds: TlsCredentials };
  /** --out DIR (CLI). */
  out?: string;
}

/**
 * A fresh destination with a second QMP monitor for migwire (the harness holds the first), set
 * up, then the replay with --qmp. The caller stops the VM.
 */
export async function replayInto(capture: string, o: ReplayInto): Promise<{ report: ReplayReport; dst: Vm; text: string }> {
  const qmpDir = mkdtempSync(join(tmpdir(), 'mwr-'));
  const qmpSock = join(qmpDir, 'qmp.sock');
  const dst = await launchVm({
    version: o.version, role: 'destination', memMiB: MEM, bootDisk: makeBootDisk({ startMiB: 1, endMiB: 9 }),
    extraArgs: ['-qmp', `unix:${qmpSock},server=on,wait=off`, ...(o.tls ? qemuTlsObjectArgs({ dir: o.tls.dir, endpoint: 'server' }) : [])],
    ...(o.machine ? { machine: o.machine } : {}), ...(o.running ? { paused: false } : {}),
  });
  try {
    const target = await prepareDestination(dst.qmp, { ...(o.caps ? { caps: o.caps } : {}), ...(o.params ? { params: o.params } : {}), ...(o.exitOnError === false ? { exitOnError: false } : {}) });
    if (o.cli) {
      const out = new MemoryOutput();
      const args = ['replay', capture, '--target', `${target.host}:${target.port}`, '--qmp', qmpSock, '--quiet'];
      if (o.timing) args.push('--timing', o.timing);
      if (o.out) args.push('--out', o.out);
      const code = await main([...args, '--json'], out);
      const report = JSON.parse(out.lines.join('')) as ReplayReport;
      const human = new MemoryOutput();
      const { formatReplayReport } = await import('migwire');
      for (const l of formatReplayReport(report)) human.line(l);
      if ((code === 0) !== report.ok) throw new Error(`exit ${code} but ok=${report.ok}`);
      return { report, dst, text: human.lines.join('\n') };
    }
    const report = await replayCapture(capture, { target, qmpSocket: qmpSock, ...(o.timing ? { timing: o.timing } : {}), ...(o.tls ? { tls: clientTlsOptions(o.tls.creds, '127.0.0.1') } : {}) });
    return { report, dst, text: '' };
  } catch (e) {
    await dst.stop();
    throw e;
  } finally {
    rmSync(qmpDir, { recursive: true, force: true });
  }
}

/** The original destination's RAM at switchover: meta.json's pmemsave hash, else migwire extract's pc.ram. */
export async function expectedRamSha(capture: string, scratch: string): Promise<string> {
  const metaPath = join(capture, 'meta.json');
  if (existsSync(metaPath)) {
    // Shared captures name it sha256_dst; our fixtures compare (a = source, b = destination).
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { verification?: { exact_full_ram_compare?: { sha256_dst?: string; sha256_b?: string } } };
    const h = meta.verification?.exact_full_ram_compare?.sha256_dst ?? meta.verification?.exact_full_ram_compare?.sha256_b;
    if (h) return h;
  }
  const rep = await runExtract(capture, { outDir: join(scratch, 'ram'), blocks: ['pc.ram'], quiet: true });
  if (rep.errors.length) throw new Error(`extract: ${rep.errors.join('; ')}`);
  return sha(readFileSync(join(scratch, 'ram', 'pc.ram.img')));
}

/**
 * The replayed destination went through postcopy: a polled status, or its MIGRATION event (the
 * postcopy phase of a small guest can be shorter than the poll interval; the events capability
 * is on for replays).
 */
export function wentThroughPostcopy(r: ReplayReport): boolean {
  const d = r.destination;
  return !!d && (d.statuses.some((s) => s.status === 'postcopy-active') || d.events.some((e) => e.event === 'MIGRATION' && e.data?.['status'] === 'postcopy-active'));
}

export function assertAllSent(t: ExecutionContext, r: ReplayReport): void {
  for (const c of r.connections) t.is(c.bytesSent, c.bytesToSend, `${c.name}: every byte sent`);
}
