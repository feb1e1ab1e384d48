/**
 * index.json of a recorded TCP migration (format "qemu-migration-capture/tcp-proxy/1"), written by
 * `migwire record`, `migwire replay --out` and the recorders of the shared captures. Fields only
 * some recorders write are optional.
 */
import type { ChannelRole } from '@migwire/stream-codec';
import type { Direction } from '../naming.js';

export const TCP_PROXY_FORMAT = 'qemu-migration-capture/tcp-proxy/1';

/** Why a direction stopped: eof, a socket error on either side, a refused file write, or closed at stop. */
export type EndReason = 'eof' | 'recv-error' | 'send-error' | 'write-error' | 'forced' | null;

/** One direction of one connection: where its bytes are and proof none was lost. */
export interface DirectionStats {
  /** File name inside the capture directory (connNN.<direction>.bin). */
  file: string;
  bytes_received: number;
  bytes_written: number;
  bytes_sent: number;
  /** Received but not on disk (a full disk): the recording's shortfall. Absent in older indexes. */
  bytes_not_written?: number;
  /** Received but not forwarded (the peer went away first). Absent in older indexes. */
  bytes_not_forwarded?: number;
  file_size: number;
  recorded_equals_forwarded: boolean;
  chunks: number;
  first_data_at: number | null;
  ended_at: number | null;
  end_reason: EndReason;
  recv_error: string | null;
  send_error: string | null;
  write_error?: string | null;
  sha256: string;
  /** First 64 bytes, hex. */
  head_hex: string;
}

export interface TcpConnection {
  /** Accept order (= the order the destination saw). */
  id: number;
  role?: ChannelRole;
  multifdId?: number;
  accepted_at: number | null;
  target_connected_at: number | null;
  closed_at: number | null;
  /** The recorder had to close it at stop. */
  forced_close: boolean;
  source_peer?: string;
  target_local?: string | null;
  connect_error?: string | null;
  role_error?: string | null;
  directions: Record<Direction, DirectionStats>;
}

/** One row of the `roles` summary: a connection's role, byte counts and first bytes. */
export interface RoleRow {
  id: number;
  role: ChannelRole;
  src2dst_bytes: number;
  dst2src_bytes: number;
  src2dst_first4: string;
  dst2src_first4: string;
  multifd_channel_id?: number;
  [extra: string]: unknown;
}

/**
 * complete | recording-failed (a file refused a write) | target-refused | stopped (a stop signal
 * closed connections still open) | forced (older recorders: closed at stop).
 */
export type CaptureStatus = 'complete' | 'recording-failed' | 'target-refused' | 'stopped' | 'forced';

export interface TcpProxyIndex {
  format: typeof TCP_PROXY_FORMAT;
  /** tcp, or tls-terminated when the recorder decrypted TLS and holds the plaintext. */
  transport: 'tcp' | 'tls-terminated' | 'tls';
  listen: string | null;
  target: string;
  clock: string;
  proxy_start_unix: number;
  recorder?: string;
  connection_count: number;
  connections: TcpConnection[];
  chunks_file: string;
  chunk_count: number;
  all_recorded_equals_forwarded?: boolean;
  accept_errors?: string[];
  status?: CaptureStatus;
  failure?: string;
  roles: RoleRow[];
}

/** What the roles summary is built from. */
export interface RoleSummarySource {
  id: number;
  role: ChannelRole;
  multifdId?: number;
  directions: Record<Direction, Pick<DirectionStats, 'bytes_received' | 'head_hex'>>;
}

/** The `roles` summary of index.json, one row per connection (every writer builds it here). */
export function roleRows(connections: RoleSummarySource[]): RoleRow[] {
  return connections.map((c) => ({
    id: c.id,
    role: c.role,
    src2dst_bytes: c.directions.src2dst.bytes_received,
    dst2src_bytes: c.directions.dst2src.bytes_received,
    src2dst_first4: c.directions.src2dst.head_hex.slice(0, 8),
    dst2src_first4: c.directions.dst2src.head_hex.slice(0, 8),
    ...(c.multifdId !== undefined ? { multifd_channel_id: c.multifdId } : {}),
  }));
}
