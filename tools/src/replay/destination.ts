/**
 * Watches the destination QEMU over QMP while the replay runs: `query-migrate` polled until
 * completed or failed, status changes and events kept, QEMU's error-desc at the end.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { QmpClient, type Clock, type MigrateStatus } from '@migwire/qemu';
import type { DestinationStatus } from './types.js';

/** How long one `query-migrate` may take before the destination counts as stuck. */
const QUERY_TIMEOUT_MS = 10_000;

/** Where a replay ends; postcopy-paused means a channel broke, which a replay cannot recover. */
const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'postcopy-paused']);

export class DestinationWatch {
  readonly state: DestinationStatus = { status: null, errorDesc: null, statuses: [], events: [] };
  private stopped = false;
  private readonly eventsBefore: number;
  /** Resolves with the terminal status (completed / failed / cancelled, or 'qmp-closed'). */
  readonly done: Promise<string>;

  private constructor(
    readonly qmp: QmpClient,
    private readonly now: () => number,
    pollMs: number,
    /** Told at once when the destination reports a failure. */
    onFailed: (desc: string) => void,
  ) {
    this.eventsBefore = qmp.events.length;
    this.done = this.poll(pollMs, onFailed);
  }

  /** Connect to the destination's QMP socket and check it is waiting for an incoming migration. */
  static async open(socket: string, clock: Clock, pollMs: number, onFailed: (desc: string) => void): Promise<DestinationWatch> {
    const qmp = await QmpClient.connect(socket, { timeoutMs: 5000, clock });
    return new DestinationWatch(qmp, () => clock.now(), pollMs, onFailed);
  }

  /** The current `query-migrate` (null when QMP is gone or did not answer). */
  async query(): Promise<MigrateStatus | null> {
    return this.qmp.execute<MigrateStatus>('query-migrate', undefined, { timeoutMs: QUERY_TIMEOUT_MS }).catch(() => null);
  }

  private async poll(pollMs: number, onFailed: (desc: string) => void): Promise<string> {
    for (;;) {
      const q = await this.query();
      if (!q) {
        if (this.stopped) return this.state.status ?? 'stopped';
        // A live QEMU whose monitor does not answer for QUERY_TIMEOUT_MS is stuck (its main thread
        // waits holding the BQL, e.g. joining a postcopy thread that a channel's early end parked);
        // a closed monitor is a QEMU gone.
        this.state.errorDesc ??= this.qmp.closed
          ? 'QMP connection closed (the destination QEMU exited?)'
          : `the destination stopped answering QMP (no answer to query-migrate in ${QUERY_TIMEOUT_MS / 1000} s); QEMU is still running`;
        onFailed(this.state.errorDesc);
        return 'qmp-closed';
      }
      this.note(q);
      if (q.status && TERMINAL.has(q.status)) {
        if (q.status !== 'completed') onFailed(this.state.errorDesc ?? q.status);
        return q.status;
      }
      if (this.stopped) return q.status ?? 'stopped';
      await delay(pollMs);
    }
  }

  private note(q: MigrateStatus): void {
    if (q.status && q.status !== this.state.status) {
      this.state.status = q.status;
      this.state.statuses.push({ t: this.now(), status: q.status });
    }
    if (q['error-desc']) this.state.errorDesc = q['error-desc'];
  }

  /** Stop polling, keep the events that came, close QMP. */
  async close(): Promise<DestinationStatus> {
    this.stopped = true;
    await this.done.catch(() => undefined);
    for (const e of this.qmp.events.slice(this.eventsBefore)) {
      this.state.events.push({ t: e.t, event: e.event, ...(e.data ? { data: e.data } : {}) });
    }
    this.qmp.close();
    return this.state;
  }
}

export interface PrepareOptions {
  caps?: Record<string, boolean>;
  params?: Record<string, unknown>;
  /** Listen address; default tcp:127.0.0.1:0 (a free port, read back). */
  uri?: string;
  /** QEMU >= 9.1: keep the destination alive after a failed load so query-migrate shows the error. */
  exitOnError?: boolean;
  /** Turn on the `events` capability (MIGRATION events for the report; nothing on the wire changes). Default true. */
  events?: boolean;
}

/**
 * Make a destination started with `-incoming defer` ready for a replay: the recording's
 * capabilities and parameters, then `migrate-incoming`. Returns the address it listens on.
 */
export async function prepareDestination(qmp: QmpClient, o: PrepareOptions = {}): Promise<{ host: string; port: number }> {
  const caps = Object.entries({ ...(o.events === false ? {} : { events: true }), ...(o.caps ?? {}) }).map(([capability, state]) => ({ capability, state }));
  if (caps.length) await qmp.execute('migrate-set-capabilities', { capabilities: caps });
  if (o.params && Object.keys(o.params).length) await qmp.execute('migrate-set-parameters', o.params);
  await qmp.execute('migrate-incoming', { uri: o.uri ?? 'tcp:127.0.0.1:0', ...(o.exitOnError === false ? { 'exit-on-error': false } : {}) });
  const q = await qmp.execute<MigrateStatus>('query-migrate');
  const a = q['socket-address']?.[0];
  if (!a || a.port === undefined) throw new Error(`the destination reports no listening address: ${JSON.stringify(q)}`);
  return { host: a.host ?? '127.0.0.1', port: Number(a.port) };
}

/**
 * `replay --setup`: connect to the destination's QMP socket, set it up from the recording's
 * meta.json (caps, params, events, and exit-on-error off where QEMU has it) and start
 * `migrate-incoming` on `listen` (port 0: any free one). Returns where it listens.
 */
export async function setupDestinationFromCapture(
  socket: string,
  settings: { caps: Record<string, boolean>; params: Record<string, unknown> },
  listen: { host: string; port: number },
): Promise<{ host: string; port: number }> {
  const qmp = await QmpClient.connect(socket, { timeoutMs: 5000 });
  try {
    const [major = 0, minor = 0] = qmp.version.split('.').map(Number);
    const hasExitOnError = major > 9 || (major === 9 && minor >= 1);
    return await prepareDestination(qmp, { ...settings, uri: `tcp:${listen.host}:${listen.port}`, ...(hasExitOnError ? { exitOnError: false } : {}) });
  } finally {
    qmp.close();
  }
}
