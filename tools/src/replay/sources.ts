/**
 * Where each replayed connection's bytes come from: its capture channel's own byte source (a plain
 * file streamed from disk, a .gz unpacked, a packet capture's reassembled TCP stream). A packet
 * capture's channels come from one shared pass over the file (Capture.openAll) rather than one
 * pass per connection.
 */
import { channelBytes, type Capture } from '@migwire/capture';
import type { PlannedConnection } from './plan.js';

export class ReplaySources {
  private readonly shared = new Map<number, AsyncIterable<Uint8Array>>();
  private readonly taken = new Set<number>();

  constructor(capture: Capture, connections: readonly PlannedConnection[]) {
    if (capture.openAll && connections.length > 1) {
      const streams = capture.openAll(connections.map((c) => c.source));
      connections.forEach((c, i) => this.shared.set(c.id, streams[i]!));
    }
  }

  /** The bytes connection `c` sends (once per connection). */
  take(c: PlannedConnection): AsyncIterable<Uint8Array> {
    this.taken.add(c.id);
    return this.shared.get(c.id) ?? channelBytes(c.source);
  }

  /** Let go of the shared streams no connection took (a replay that failed before reaching them). */
  async close(): Promise<void> {
    for (const [id, s] of this.shared) if (!this.taken.has(id)) await s[Symbol.asyncIterator]().return?.();
  }
}
