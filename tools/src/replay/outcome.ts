/** How a replay ended, from what each connection saw and what QEMU said. */
import type { Socket } from 'node:net';
import type { PlannedConnection } from './plan.js';
import { compareReturnPaths, garbledReturnPath, ReturnPathLog } from './return-path.js';
import type { ChannelSender } from './sender.js';
import type { ConnectionEnd, DestinationStatus, ReplayConnectionReport, ReplayFailure, ReplayOutcome } from './types.js';

/** Everything about one replayed connection while it runs. */
export interface Live {
  plan: PlannedConnection;
  socket: Socket | null;
  sender: ChannelSender | null;
  received: number;
  connectedAt: number | null;
  peerClosedAt: number | null;
  closed: boolean;
  reset: string | null;
  sendDone: boolean;
  returnLog: ReturnPathLog | null;
}

/** Bytes to send on a connection, when known before sending (not for .gz). */
export const totalOf = (l: Live): number => l.plan.size ?? l.sender?.queued ?? 0;

/** The report of one connection, its return path compared with the recorded one. */
export function connectionReport(l: Live, recorded: ReturnPathLog | undefined): ReplayConnectionReport {
  const end: ConnectionEnd = l.socket === null ? 'not-connected' : l.reset ? 'reset' : (l.sender?.endedAt ?? null) !== null ? 'half-closed' : l.closed ? 'closed' : 'open';
  const r: ReplayConnectionReport = {
    id: l.plan.id,
    name: l.plan.name,
    role: l.plan.role,
    bytesToSend: totalOf(l),
    bytesSent: l.sender?.sent ?? 0,
    bytesStuck: l.sender?.stuck ?? 0,
    bytesReceived: l.received,
    recordedBytesReceived: l.plan.recordedReturnSize,
    connectedAt: l.connectedAt,
    sendEndedAt: l.sender?.endedAt ?? null,
    end,
    peerClosedAt: l.peerClosedAt,
    error: l.sender?.error ?? l.reset,
  };
  if (l.returnLog) {
    l.returnLog.end();
    r.returnPath = compareReturnPaths(recorded ?? new ReturnPathLog('recorded return-path'), l.returnLog);
  }
  return r;
}

/**
 * With QMP, QEMU's status decides. Without, a replay is accepted when every byte went out, no
 * connection failed, what came back on the return path decodes, and the destination's SHUT (when
 * it sent one) says 0.
 */
export function judge(
  connections: ReplayConnectionReport[],
  destination: DestinationStatus | null,
  failure: ReplayFailure | null,
  timedOut: boolean,
): { outcome: ReplayOutcome; reason: string | null } {
  if (timedOut) return { outcome: 'failed', reason: failure?.reason ?? 'timed out' };
  if (destination) {
    if (destination.status === 'completed') return { outcome: 'completed', reason: null };
    return { outcome: 'failed', reason: destination.errorDesc ? `destination QEMU: ${destination.errorDesc}` : (failure?.reason ?? `destination status ${destination.status ?? 'unknown'}`) };
  }
  // QEMU's own return path always decodes: bytes that do not are no destination that took the stream.
  const garbled = connections.find((c) => c.returnPath?.receivedError);
  if (garbled) return { outcome: 'failed', reason: failure?.reason ?? garbledReturnPath(garbled.name, garbled.returnPath!.receivedError!) };
  const everythingSent = connections.every((c) => c.bytesSent === c.bytesToSend && c.error === null);
  const shut = connections.map((c) => c.returnPath?.shutStatus ?? null).find((x) => x !== null) ?? null;
  if (!failure && everythingSent && (shut === null || shut === 0)) return { outcome: 'accepted', reason: null };
  return { outcome: 'failed', reason: failure?.reason ?? (shut ? `the destination sent SHUT with status ${shut} (it failed to load the stream)` : 'not every byte was sent') };
}
