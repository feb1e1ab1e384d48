/**
 * The `roles` summary of a capture's index.json (shared capture format): one row per connection
 * with its role, byte counts and first bytes. Written by the recording proxy and by anything
 * else that writes captures (replay --out), so readers see one shape.
 */
import type { DirectionStats } from './direction.js';

export interface CaptureConnectionSummary<R extends string = string> {
  id: number;
  role: R;
  multifdId?: number;
  directions: { src2dst: DirectionStats; dst2src: DirectionStats };
}

export interface CaptureRole<R extends string = string> {
  id: number;
  role: R;
  src2dst_bytes: number;
  dst2src_bytes: number;
  src2dst_first4: string;
  dst2src_first4: string;
  multifd_channel_id?: number;
}

export function captureRoles<R extends string>(connections: CaptureConnectionSummary<R>[]): CaptureRole<R>[] {
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
