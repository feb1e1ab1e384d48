/**
 * `migwire record`: sit between a migration source and destination, forward
 * every byte, record every byte, and say per channel what went through.
 */
import { clientTlsOptions, readQemuTlsDir, RecordingProxy, serverTlsOptions } from '@migwire/channel-manager';
import { bytesNotWritten, type DirectionStats, type TcpProxyIndex } from '@migwire/capture';
import { bytesHuman } from '../format/human.js';
import type { Output } from '../cli-io.js';
import { LiveChecker } from '@migwire/sync';
import { checkProtocol } from '../check/command.js';

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
  /** Record into a folder that is not empty, replacing files of the same name (never through a link). */
  force?: boolean;
  /** Write the channel files with O_DIRECT, around the page cache (where the file system allows it). */
  directIo?: boolean;
}

/** How long open connections may take to finish after a stop signal before they are cut. */
const STOP_GRACE_MS = 500;

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
    ...(o.force ? { force: true } : {}),
    ...(o.directIo ? { directIo: true } : {}),
  });
  const addr = await proxy.start();
  out.err(`migwire record: listening on ${addr.host}:${addr.port}, forwarding to ${o.target.host}:${o.target.port}, recording into ${o.outDir}`);
  proxy.on('channel-error', (e: Error) => out.err(`migwire record: ${e.message}`));
  proxy.on('notice', (m: string) => out.err(`migwire record: note: ${m}`));
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
    // One line a second: the open connections first, at most PROGRESS_SHOWN of them, the rest counted.
    const shown = [...p.connections.filter((c) => c.open), ...p.connections.filter((c) => !c.open)].slice(0, PROGRESS_SHOWN);
    const parts = shown.map((c) => {
      const rate = (c.src2dst - (last.get(c.id) ?? 0)) / 1;
      return `${roleName(c)} ${bytesHuman(c.src2dst)} (${bytesHuman(rate)}/s)${c.dst2src ? ` back ${bytesHuman(c.dst2src)}` : ''}${c.open ? '' : ' closed'}`;
    });
    const more = p.connections.length - shown.length;
    if (more > 0) parts.push(`${more} more connection(s), ${bytesHuman(p.connections.reduce((n, c) => n + c.src2dst, 0))} in all`);
    last = new Map(p.connections.map((c) => [c.id, c.src2dst]));
    out.err(`[${p.t.toFixed(1)}s] ${parts.join(' | ')}`);
  };
  const timer = setInterval(tick, 1000);
  timer.unref();

  let signalled: string | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) return out.err(`migwire record: ${sig}: already stopping`);
    signalled = sig;
    out.err(`migwire record: ${sig}: stopping (open connections are closed within ${STOP_GRACE_MS} ms)`);
    stopNow();
  };
  let stopNow: () => void = () => {};
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const stop = new Promise<void>((resolve) => {
    failedEarly = resolve;
    stopNow = resolve;
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
  let index: TcpProxyIndex;
  try {
    index = await proxy.close(signalled ? STOP_GRACE_MS : 2000);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  let code = report(index, out);
  if (proxy.indexError) {
    out.line(`recording FAILED: index.json could not be written: ${proxy.indexError}`);
    code = 1;
  }
  if (o.check) {
    out.line('');
    out.line(`live checks: ${live!.violations.length} violation(s) while proxying; full check of the recording:`);
    if ((await checkProtocol(o.outDir, false, out)) !== 0 || live!.violations.length) code = 1;
  }
  return code;
}

/** Connections named in a progress line (a migration has main and up to 16 multifd channels in practice). */
const PROGRESS_SHOWN = 20;

/** Why a direction ended, when it was cut rather than closed by its peer. */
const CUT: ReadonlySet<string> = new Set(['recv-error', 'send-error', 'write-error', 'forced']);

/** "src->dst received 8388608, forwarded 8388608, written 8380416 (8192 B not on disk)". */
function shortfall(label: string, d: DirectionStats): string | undefined {
  const notWritten = bytesNotWritten(d);
  const notSent = d.bytes_not_forwarded ?? d.bytes_received - d.bytes_sent;
  if (d.recorded_equals_forwarded) return undefined;
  const lost = [notWritten > 0 ? `${notWritten} B not on disk` : '', notSent > 0 ? `${notSent} B not forwarded` : ''].filter(Boolean).join(', ');
  return `${label} received ${d.bytes_received}, forwarded ${d.bytes_sent}, written ${d.bytes_written}${lost ? ` (${lost})` : ''}`;
}

/**
 * The per-connection report of a recording. Exit 1 when any byte is unaccounted for, a connection
 * could not reach the target, the disk refused a write, or a connection was cut rather than closed
 * by its peer (a reset on either side, a destination killed mid-stream, a stop signal): the same
 * fault gives the same code whatever its timing.
 */
export function report(index: TcpProxyIndex, out: Output): number {
  const why: string[] = [];
  for (const c of index.connections) {
    const u = c.directions.src2dst;
    const d = c.directions.dst2src;
    const name = `conn${String(c.id).padStart(2, '0')}`;
    const short = [shortfall('src->dst', u), shortfall('dst->src', d)].filter((x): x is string => x !== undefined);
    const cut = [u, d].some((x) => x.end_reason !== null && CUT.has(x.end_reason));
    if (short.length) why.push(`${name} lost bytes`);
    else if (cut) why.push(`${name} was cut (${[u, d].map((x) => x.end_reason).filter((r) => r && CUT.has(r)).join(', ')})`);
    if (c.connect_error) why.push(`${name} could not reach the target`);
    const writeErrors = [u, d].map((x) => x.write_error).filter((x): x is string => !!x);
    out.line(
      `${name} ${roleName(c).padEnd(18)} src->dst ${String(u.bytes_received).padStart(12)} B (${u.end_reason ?? 'open'})  dst->src ${String(d.bytes_received).padStart(10)} B (${d.end_reason ?? 'open'})  ${short.length ? `SHORTFALL: ${short.join('; ')}` : 'received = forwarded = written'}` +
        (c.connect_error ? `  connect error: ${c.connect_error}` : '') +
        (c.role_error ? `  ${c.role_error}` : '') +
        (writeErrors.length ? `  write error: ${writeErrors[0]}` : ''),
    );
  }
  if (index.failure) {
    why.push('the recording failed');
    out.line(`recording FAILED: ${index.failure} (what is on disk is counted per connection above)`);
  }
  if (index.status === 'stopped' || index.status === 'forced') why.push('stopped with connections open');
  if (why.length === 0) {
    out.line(`recorded ${index.connection_count} connections, every byte accounted for`);
    return 0;
  }
  out.line(`recording INCOMPLETE: ${[...new Set(why)].join('; ')}`);
  // The report is on stdout; why it failed is also the error line every command ends with.
  out.err(`migwire: recording incomplete: ${[...new Set(why)].join('; ')}`);
  return 1;
}
