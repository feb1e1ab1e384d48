/** index.json of a recording (format qemu-migration-capture/tcp-proxy/1), made from the proxy's connections. */
import { CHUNKS_FILE, roleRows, TCP_PROXY_FORMAT, type TcpProxyIndex } from '@migwire/capture';
import type { ChannelRole } from '@migwire/stream-codec';
import type { DirectionRecorder } from './direction.js';

/** What index.json says of one proxied connection. */
export interface ProxyConnection {
  id: number;
  role: ChannelRole;
  multifdId?: number;
  roleError: string | null;
  acceptedAt: number;
  connectedAt: number | null;
  closedAt: number | null;
  forced: boolean;
  sourcePeer: string;
  targetLocal: string | null;
  connectError: string | null;
  up: DirectionRecorder;
  down: DirectionRecorder;
}

export interface ProxyIndexInput {
  conns: readonly ProxyConnection[];
  /** Why the recording stopped early, if it did. */
  failure: string | undefined;
  chunksError: string | null;
  chunkCount: number;
  tls: boolean;
  listen: string;
  target: string;
  startUnix: number;
  acceptErrors: string[];
}

export function buildProxyIndex(p: ProxyIndexInput): TcpProxyIndex {
  const connections = p.conns.map((c) => ({
    id: c.id,
    role: c.role,
    ...(c.multifdId !== undefined ? { multifdId: c.multifdId } : {}),
    accepted_at: c.acceptedAt,
    target_connected_at: c.connectedAt,
    closed_at: c.closedAt,
    forced_close: c.forced,
    source_peer: c.sourcePeer,
    target_local: c.targetLocal,
    connect_error: c.connectError,
    role_error: c.roleError,
    directions: { src2dst: c.up.stats(), dst2src: c.down.stats() },
  }));
  const failure = p.failure ?? (p.chunksError !== null ? `writing ${CHUNKS_FILE} failed: ${p.chunksError}` : undefined);
  return {
    format: TCP_PROXY_FORMAT,
    transport: p.tls ? 'tls-terminated' : 'tcp',
    listen: p.listen,
    target: p.target,
    clock: 'seconds since proxy start (performance.now)',
    proxy_start_unix: p.startUnix,
    recorder: 'migwire record',
    connection_count: connections.length,
    connections,
    chunks_file: CHUNKS_FILE,
    chunk_count: p.chunkCount,
    all_recorded_equals_forwarded: connections.every((c) => c.directions.src2dst.recorded_equals_forwarded && c.directions.dst2src.recorded_equals_forwarded),
    accept_errors: p.acceptErrors,
    // stopped: a stop (signal, end of grace) cut connections that were still open.
    status: failure ? 'recording-failed' : connections.some((c) => c.connect_error) ? 'target-refused' : connections.some((c) => c.forced_close) ? 'stopped' : 'complete',
    ...(failure ? { failure } : {}),
    roles: roleRows(connections),
  };
}
