/**
 * `replayCapture`: feed a recorded migration into a destination QEMU that is listening
 * (`migrate-incoming`). The recorded connections are opened in accept order, each connected
 * before the next (QEMU names TLS channels by arrival and the preempt channel by position); each
 * sends its recorded bytes, fast or at the recorded times; what comes back is read, recorded and
 * compared with the recording. Ends when the destination reports completed/failed (QMP), or
 * without QMP when it closed every connection or nothing moved for the idle timeout.
 */
import { existsSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { OrderedDialer } from '@migwire/channel-manager';
import { channelBytes, openCapture, requireStreamStart, type Capture } from '@migwire/capture';
import { InputError } from '../input-error.js';
import { Clock } from '@migwire/qemu';
import { CaptureOut } from './capture-out.js';
import { DestinationWatch } from './destination.js';
import { planReplay } from './plan.js';
import { connectionReport, judge, totalOf, type Live } from './outcome.js';
import { garbledReturnPath, ReturnPathLog } from './return-path.js';
import { readSchedule, ReplayClock, scheduleFromArrivals, type ChunkSchedule } from './schedule.js';
import { ChannelSender } from './sender.js';
import { replaySettings } from './settings.js';
import { ReplaySources } from './sources.js';
import type { ReplayFailure, ReplayOptions, ReplayProgress, ReplayReport } from './types.js';

export async function replayCapture(input: string | Capture, o: ReplayOptions): Promise<ReplayReport> {
  const mi = typeof input === 'string' ? await openCapture(input, { migration: o.migration }) : input;
  // Before any connection is made: a destination cannot load a stream from mid-way.
  requireStreamStart(mi, 'cannot replay: a destination QEMU needs the migration from its first byte');
  const settings = await replaySettings(mi);
  const plan = planReplay(mi, settings);
  const timing = o.timing ?? (plan.postcopy || o.speed !== undefined ? 'recorded' : 'fast');
  const speed = o.speed ?? 1;
  if (!(speed > 0)) throw new InputError(`--speed must be a positive number, got ${speed}`);
  if (timing === 'fast' && o.speed !== undefined && o.speed !== 1) throw new InputError('--speed scales recorded time: it goes with --timing recorded, not fast');
  const warnings: string[] = [];
  if (timing === 'fast' && plan.connections.some((c) => c.role === 'postcopy-preempt')) {
    warnings.push('fast timing on a postcopy-preempt capture: main and the preempt channel are not kept in their recorded order, so pages can race the commands before them; --timing recorded keeps it');
  }
  if (plan.tlsTerminated && !o.tls) warnings.push('the recording terminated TLS (its files are plaintext): a destination with tls-creds expects TLS, give --tls DIR');
  for (const c of plan.connections) if (c.sendEnd === 'abort') warnings.push(`connection ${c.id} (${c.name}) did not end with a half-close in the recording; it stays open until the end`);
  let schedules = new Map<number, ChunkSchedule>();
  if (timing === 'recorded') {
    const times = plan.packetTimes ? await mi.arrivals() : undefined;
    if (plan.chunksFile) schedules = await readSchedule(plan.chunksFile);
    else if (times) schedules = scheduleFromArrivals(times, new Map(plan.connections.map((c) => [c.id, c.size])));
    else throw new InputError(`${plan.path}: --timing recorded needs chunks.csv (recorded times); this input has none`);
  }
  const recordedLogs = new Map<number, ReturnPathLog>();
  for (const c of plan.connections) if (c.role === 'main' && c.recordedReturn) recordedLogs.set(c.id, await ReturnPathLog.fromBytes(channelBytes(c.recordedReturn), 'recorded return-path'));

  // Recorded time zero for the replay: the first connection's accept (or first chunk).
  const firstTimes = [...plan.connections.map((c) => c.acceptedAt), ...[...schedules.values()].map((s) => s.t[0])].filter((t): t is number => typeof t === 'number');
  const base = firstTimes.length ? Math.min(...firstTimes) : 0;
  const qclock = new Clock();
  const clock = new ReplayClock(base, speed, qclock.zeroMs);
  const now = (): number => clock.now();
  const target = `${o.target.host}:${o.target.port}`;
  const abort = new AbortController();
  const lives: Live[] = plan.connections.map((p) => ({
    plan: p, socket: null, sender: null, received: 0, connectedAt: null, peerClosedAt: null, closed: false, reset: null, sendDone: false,
    returnLog: p.role === 'main' ? new ReturnPathLog('return-path') : null,
  }));
  // With a return path that ends in SHUT, the source closes only after the destination is done
  // (QEMU waits for the return path at completion); an early EOF would pause postcopy.
  const closeAfterDestination = [...recordedLogs.values()].some((log) => log.shutStatus !== null);
  let destinationDone!: () => void;
  const destinationDonePromise = new Promise<void>((resolve) => (destinationDone = resolve));
  let failure: ReplayFailure | null = null;
  let lastActivity = performance.now();
  const fail = (reason: string): void => {
    if (failure) return;
    failure = { t: now(), reason, sentAt: lives.map((l) => ({ id: l.plan.id, name: l.plan.name, sent: l.sender?.sent ?? 0, total: totalOf(l) })) };
    for (const l of lives) l.sender?.stop();
    abort.abort();
    destinationDone();
  };

  const watch = o.qmpSocket ? await openWatch(o.qmpSocket, qclock, o.pollMs ?? 50, (desc) => fail(`destination QEMU: ${desc}`)) : null;
  void watch?.done.then(() => destinationDone(), () => destinationDone());
  const out = o.outDir ? new CaptureOut(o.outDir, target, now, o.force ?? false) : null;

  const progress = (): ReplayProgress => ({
    t: now(),
    connections: lives.map((l) => ({ id: l.plan.id, name: l.plan.name, sent: l.sender?.sent ?? 0, total: totalOf(l), received: l.received, open: l.socket !== null && !l.closed })),
  });
  const ticker = o.onProgress ? setInterval(() => o.onProgress!(progress()), o.progressMs ?? 1000) : null;

  const sources = new ReplaySources(mi, plan.connections);
  const dialer = new OrderedDialer(o.target, o.tls);
  const sending: Promise<void>[] = [];
  const closing: Promise<void>[] = [];
  const start = async (l: Live): Promise<void> => {
    const id = l.plan.id;
    let s: Socket;
    try {
      // A destination that accepts but never answers a TLS handshake must not outlast the timeout.
      s = await untilAborted(dialer.dial(), abort.signal);
    } catch (e) {
      fail(`connection ${id} (${l.plan.name}): cannot connect to ${target}: ${(e as Error).message}`);
      return;
    }
    l.socket = s;
    l.connectedAt = now();
    out?.add(id, l.plan.role);
    s.on('data', (chunk: Buffer) => {
      lastActivity = performance.now();
      l.received += chunk.length;
      if (l.returnLog) {
        l.returnLog.write(chunk);
        if (l.returnLog.shutStatus !== null) destinationDone();
      }
      if (out && !out.received(id, chunk)) {
        s.pause();
        void out.drained(id).then(() => s.resume());
      }
    });
    s.on('end', () => {
      l.peerClosedAt = now();
      l.returnLog?.end();
      // Only the return path's end says the destination is done. A destination closes its multifd
      // connections while it still cleans up postcopy: a half-close of the preempt channel then
      // parks its preempt thread, whose join the main thread waits for holding the BQL (QMP dead).
      if (l.returnLog) destinationDone();
      if (!l.sendDone && !(l.plan.size !== undefined && (l.sender?.sent ?? 0) >= l.plan.size) && !failure) fail(`the destination closed connection ${id} (${l.plan.name}) after ${l.sender?.sent ?? 0} of ${totalOf(l)} bytes`);
    });
    s.on('error', (e) => {
      l.reset ??= e.message;
      if (!failure) fail(`connection ${id} (${l.plan.name}): ${e.message}`);
    });
    s.on('close', () => {
      l.closed = true;
      l.peerClosedAt ??= now();
    });
    const sender = new ChannelSender(s, sources.take(l.plan), out ? (chunk) => out.sent(id, chunk) : undefined, abort.signal);
    l.sender = sender;
    sending.push(
      (async () => {
        if (timing === 'recorded') await sender.sendScheduled(schedules.get(id), clock);
        else await sender.sendFast();
        lastActivity = performance.now();
        if (sender.readError) fail(`connection ${id} (${l.plan.name}): cannot read its bytes from the capture after ${sender.queued} bytes: ${sender.readError.message}`);
        if (!sender.active) return;
        l.sendDone = true;
        // Close our side when the recording's source did (recorded timing), else right away;
        // not awaited: waiting for the half-close is not waiting for bytes.
        if (l.plan.sendEnd === 'eof') {
          closing.push(
            (async () => {
              if (timing === 'recorded' && l.plan.sendEndedAt !== null) await clock.until(l.plan.sendEndedAt, abort.signal).catch(() => undefined);
              if (closeAfterDestination) await destinationDonePromise;
              if (!failure) sender.finish(now());
            })(),
          );
        }
      })(),
    );
  };

  const deadline = performance.now() + (o.timeoutMs ?? 300_000);
  let timedOut = false;
  // The timeout holds over every wait (a connect, a recorded time, a full send queue), not only the loop below.
  const deadlineTimer = setTimeout(() => {
    timedOut = true;
    fail(`timed out after ${o.timeoutMs ?? 300_000} ms`);
  }, o.timeoutMs ?? 300_000);
  try {
    for (const l of lives) {
      if (failure) break;
      // Connect when the recording accepted it (or, without index.json times, at its first chunk).
      const at = l.plan.acceptedAt ?? schedules.get(l.plan.id)?.t[0];
      if (timing === 'recorded' && at !== undefined) await clock.until(at, abort.signal).catch(() => undefined);
      if (failure) break;
      await start(l);
    }
    const allSent = Promise.all(sending);
    // Wait for the end: QEMU's verdict, or (no QMP) the destination closing / going quiet.
    const idleMs = o.idleTimeoutMs ?? 5000;
    let sentAll = false;
    let idle = false;
    void allSent.then(() => (sentAll = true));
    // A destination that stopped reading: bytes wait in a send queue and none go out.
    const stallMs = o.stallTimeoutMs ?? 60_000;
    let sentBefore = -1;
    let sendProgressAt = performance.now();
    for (;;) {
      if (failure) break;
      // Bytes back that are no return path: no QEMU destination sends them, and more will not help.
      const garbled = lives.find((l) => l.returnLog?.error);
      if (garbled) {
        fail(garbledReturnPath(garbled.plan.name, garbled.returnLog!.error!));
        break;
      }
      const sentNow = lives.reduce((n, l) => n + (l.sender?.sent ?? 0), 0);
      if (sentNow !== sentBefore) {
        sentBefore = sentNow;
        sendProgressAt = performance.now();
      }
      const stuck = sentAll ? undefined : lives.find((l) => l.sender && l.sender.stuck > 0);
      if (stuck && performance.now() - sendProgressAt > stallMs) {
        fail(`the destination read nothing more for ${stallMs} ms: connection ${stuck.plan.id} (${stuck.plan.name}) has ${stuck.sender!.stuck} bytes waiting after ${stuck.sender!.sent} sent`);
        break;
      }
      if (performance.now() > deadline) {
        timedOut = true;
        fail(`timed out after ${o.timeoutMs ?? 300_000} ms`);
        break;
      }
      if (watch) {
        const st = watch.state.status;
        if (st === 'completed') break;
      } else if (sentAll) {
        if (lives.every((l) => l.socket === null || l.closed || l.peerClosedAt !== null)) break;
        if (performance.now() - lastActivity > idleMs) {
          idle = true;
          break;
        }
      }
      await delay(20);
    }
    // A failure seen on a socket first: give QEMU a moment to report its own error.
    if (watch && failure && !timedOut && !['failed', 'cancelled', 'postcopy-paused'].includes(watch.state.status ?? '')) await Promise.race([watch.done, delay(5000)]);
    // Let the destination finish its side (its SHUT on the return path, its closes).
    const closeBy = performance.now() + (idle ? 0 : 2000);
    while (!failure && performance.now() < closeBy && !lives.every((l) => l.socket === null || l.closed || l.peerClosedAt !== null)) await delay(20);
  } finally {
    clearTimeout(deadlineTimer);
    abort.abort();
    destinationDone();
    for (const l of lives) l.sender?.stop();
    // A failed or timed-out replay is over: what a destination that stopped reading still holds
    // in our send queue is counted as stuck, not waited for.
    if (failure) for (const l of lives) if (l.sender && l.sender.stuck > 0) l.socket?.destroy();
    await Promise.allSettled([...sending, ...closing]);
    await sources.close().catch(() => undefined);
    if (ticker) clearInterval(ticker);
  }
  const destination = watch ? await watch.close() : null;
  for (const l of lives) l.socket?.destroy();
  if (out) await out.close(new Map(lives.map((l) => [l.plan.id, l.sender?.sent ?? 0])));
  o.onProgress?.(progress());

  const connections = lives.map((l) => connectionReport(l, recordedLogs.get(l.plan.id)));
  const { outcome, reason } = judge(connections, destination, failure as ReplayFailure | null, timedOut);
  return {
    capture: plan.path,
    target,
    timing,
    speed,
    outcome,
    ok: outcome !== 'failed',
    reason,
    duration: now(),
    connections,
    destination,
    failure: outcome === 'failed' ? failure : null,
    outDir: o.outDir ?? null,
    warnings,
    ...(settings.inference ? { settings: { inferred: settings.inference.inferred, unknown: settings.inference.unknown } } : {}),
  };
}

async function openWatch(socket: string, clock: Clock, pollMs: number, onFailed: (desc: string) => void): Promise<DestinationWatch> {
  // QEMU makes the socket when it starts: a missing one is a wrong path, not one to wait for.
  if (!existsSync(socket)) throw new InputError(`--qmp ${socket}: no such socket`);
  if (!statSync(socket).isSocket()) throw new InputError(`--qmp ${socket}: not a unix socket`);
  try {
    return await DestinationWatch.open(socket, clock, pollMs, onFailed);
  } catch (e) {
    throw new InputError(`--qmp ${socket}: cannot talk QMP: ${(e as Error).message}`);
  }
}

/** `p`, or a rejection once `signal` aborts (the socket it may still bring is closed). */
function untilAborted(p: Promise<Socket>, signal: AbortSignal): Promise<Socket> {
  if (signal.aborted) {
    void p.then((s) => s.destroy(), () => undefined);
    return Promise.reject(new Error('replay ended before connecting'));
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      void p.then((s) => s.destroy(), () => undefined);
      reject(new Error('replay ended before connecting'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (s) => {
        signal.removeEventListener('abort', onAbort);
        resolve(s);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}
