/**
 * `migwire record`: sit between a migration source and destination, forward
 * every byte, record every byte, and say per channel what went through.
 */
import { clientTlsOptions, readQemuTlsDir, RecordingProxy, serverTlsOptions } from '@migwire/channel-manager';
import type { TcpProxyIndex } from '@migwire/capture';
import { bytesHuman } from '../format/human.js';
import type { Output } from '../cli-io.js';
import { LiveChecker } from '@migwire/sync';
import { checkProtocol } from './check.js';

export interface RecordOptions {
  listen: { host: string; port: number };
  target: { host: string; port: number };
  outDir: string;
  multifdChannels?: number;
  /** A QEMU tls-creds-x509 folder: terminate TLS on both sides and record the plaintext. */
  tlsDir?: string;
  /** Run the protocol rules live while proxying, then on the finished recording. */
  check?: boolean;
  /** Exit once every connection closed and none came for this long (ms); 0 = run until a signal. */
  idleExitMs: number;
  quiet: boolean;
}

export function parseHostPort(s: string, what: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(s);
  if (!m) throw new Error(`${what} must be HOST:PORT, got ${JSON.stringify(s)}`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(m[2]) };
}

function roleName(c: { role?: string; multifdId?: number }): string {
  // The recorder always writes a role; indexes from other recorders keep theirs in `roles`.
  return c.role === 'multifd' && c.multifdId !== undefined ? `multifd ${c.multifdId}` : (c.role ?? 'other');
}

export async function record(o: RecordOptions, out: Output): Promise<number> {
  const live = o.check ? new LiveChecker((v) => out.err(`migwire record: VIOLATION ${v.id} on ${v.channel} at byte ${v.offset} (t=${v.t.toFixed(3)}s): ${v.detail}`)) : undefined;
  const proxy = new RecordingProxy({
    listen: o.listen,
    target: o.target,
    outDir: o.outDir,
    ...(o.tlsDir ? { tls: (() => { const c = readQemuTlsDir(o.tlsDir); return { server: serverTlsOptions(c), client: clientTlsOptions(c, o.target.host) }; })() } : {}),
    ...(live ? { onChunk: (c: number, d: 'src2dst' | 'dst2src', chunk: Buffer, t: number) => live.onChunk(c, d, chunk, t) } : {}),
    ...(o.multifdChannels !== undefined ? { layout: { multifdChannels: o.multifdChannels } } : {}),
  });
  const addr = await proxy.start();
  out.err(`migwire record: listening on ${addr.host}:${addr.port}, forwarding to ${o.target.host}:${o.target.port}, recording into ${o.outDir}`);
  proxy.on('channel-error', (e: Error) => out.err(`migwire record: ${e.message}`));
  if (live) proxy.on('role', (id: number, role: string, multifdId?: number) => live.onRole(id, role, multifdId));
  let failedEarly: () => void = () => {};
  proxy.on('record-error', (e: Error) => {
    out.err(`migwire record: recording failed, stopping: ${e.message}`);
    failedEarly();
  });
  let last = new Map<number, number>();
  const tick = (): void => {
    if (o.quiet) return;
    const p = proxy.progress();
    if (p.connections.length === 0) return;
    const parts = p.connections.map((c) => {
      const rate = (c.src2dst - (last.get(c.id) ?? 0)) / 1;
      return `${roleName(c)} ${bytesHuman(c.src2dst)} (${bytesHuman(rate)}/s)${c.dst2src ? ` back ${bytesHuman(c.dst2src)}` : ''}${c.open ? '' : ' closed'}`;
    });
    last = new Map(p.connections.map((c) => [c.id, c.src2dst]));
    out.err(`[${p.t.toFixed(1)}s] ${parts.join(' | ')}`);
  };
  const timer = setInterval(tick, 1000);
  timer.unref();

  const stop = new Promise<void>((resolve) => {
    failedEarly = resolve;
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (o.idleExitMs > 0) {
      let idle: NodeJS.Timeout | undefined;
      const check = (): void => {
        if (idle) clearTimeout(idle);
        const open = proxy.progress().connections.some((c) => c.open);
        if (!open && proxy.progress().connections.length > 0) idle = setTimeout(resolve, o.idleExitMs);
      };
      proxy.on('connection-closed', check);
      proxy.on('connection', () => idle && clearTimeout(idle));
    }
  });
  await stop;
  clearInterval(timer);
  tick(); // the final tally, however short the migration
  const index = await proxy.close(2000);
  let code = report(index, out);
  if (o.check) {
    out.line('');
    out.line(`live checks: ${live!.violations.length} violation(s) while proxying; full check of the recording:`);
    if ((await checkProtocol(o.outDir, false, out)) !== 0 || live!.violations.length) code = 1;
  }
  return code;
}

export function report(index: TcpProxyIndex, out: Output): number {
  let ok = true;
  for (const c of index.connections) {
    const u = c.directions.src2dst;
    const d = c.directions.dst2src;
    const fine = u.recorded_equals_forwarded && d.recorded_equals_forwarded;
    ok &&= fine && !c.connect_error;
    out.line(
      `conn${String(c.id).padStart(2, '0')} ${roleName(c).padEnd(18)} src->dst ${String(u.bytes_received).padStart(12)} B (${u.end_reason ?? 'open'})  dst->src ${String(d.bytes_received).padStart(10)} B (${d.end_reason ?? 'open'})  ${fine ? 'received = forwarded = written' : 'MISMATCH: ' + JSON.stringify({ u: [u.bytes_received, u.bytes_sent, u.bytes_written], d: [d.bytes_received, d.bytes_sent, d.bytes_written] })}` +
        (c.connect_error ? `  connect error: ${c.connect_error}` : '') +
        (c.role_error ? `  ${c.role_error}` : '') +
        (u.write_error ? `  write error: ${u.write_error}` : ''),
    );
  }
  if (index.failure) {
    ok = false;
    out.line(`recording FAILED: ${index.failure}; every byte received before it is on disk`);
  }
  out.line(ok ? `recorded ${index.connection_count} connections, every byte accounted for` : `recording INCOMPLETE (${index.status}): see above`);
  return ok ? 0 : 1;
}
