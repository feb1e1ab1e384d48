/**
 * `--out DIR`: the replay written as a capture in the shared format, so dump, check and extract
 * read it: what was sent (connNN.src2dst.bin), what the destination sent back (connNN.dst2src.bin),
 * chunks.csv with replay times, and index.json.
 */
import { CHUNKS_FILE, roleRows, TCP_PROXY_FORMAT, type DirectionStats } from '@migwire/capture';
import { CaptureFiles, type DirectionRecorder } from '@migwire/channel-manager';
import type { ChannelRole } from '@migwire/stream-codec';

interface OutConn {
  id: number;
  role: ChannelRole;
  up: DirectionRecorder;
  down: DirectionRecorder;
  connectedAt: number | null;
  closedAt: number | null;
}

export class CaptureOut {
  private readonly conns = new Map<number, OutConn>();
  private readonly files: CaptureFiles;
  private readonly startUnix = Date.now() / 1000;
  writeError: string | null = null;

  constructor(
    readonly dir: string,
    private readonly target: string,
    private readonly now: () => number,
    /** Write into a folder that is not empty (never through a link). */
    force = false,
  ) {
    this.files = new CaptureFiles(dir, { force });
  }

  add(id: number, role: ChannelRole): void {
    const onErr = (m: string): void => void (this.writeError ??= m);
    this.conns.set(id, { id, role, ...this.files.recorders(id, onErr), connectedAt: this.now(), closedAt: null });
  }
  /** Record a chunk; resolves when the file has caught up (backpressure toward the sender). */
  async sent(id: number, chunk: Buffer): Promise<void> {
    const c = this.conns.get(id);
    if (!c) return;
    this.row(id, c.up, chunk);
    if (!c.up.record(chunk, this.now())) await c.up.drained();
  }

  /** Record a received chunk; false when the file is behind (pause the socket until drained()). */
  received(id: number, chunk: Buffer): boolean {
    const c = this.conns.get(id);
    if (!c) return true;
    this.row(id, c.down, chunk);
    return c.down.record(chunk, this.now());
  }

  drained(id: number): Promise<void> {
    return this.conns.get(id)?.down.drained() ?? Promise.resolve();
  }

  private row(id: number, r: DirectionRecorder, chunk: Buffer): void {
    this.files.chunk(this.now(), id, r, chunk.length);
  }

  async close(sentBytes: Map<number, number>): Promise<void> {
    const list = [...this.conns.values()];
    for (const c of list) {
      c.up.sent = sentBytes.get(c.id) ?? c.up.received;
      c.down.sent = c.down.received;
      c.up.end('eof', this.now());
      c.down.end('eof', this.now());
      c.closedAt = this.now();
    }
    await Promise.all(list.flatMap((c) => [c.up.close(), c.down.close()]));
    await this.files.closeChunks();
    const connections = list.map((c) => {
      const directions: { src2dst: DirectionStats; dst2src: DirectionStats } = { src2dst: c.up.stats(), dst2src: c.down.stats() };
      return { id: c.id, role: c.role, accepted_at: c.connectedAt, target_connected_at: c.connectedAt, closed_at: c.closedAt, forced_close: false, directions };
    });
    this.files.writeIndex({
      format: TCP_PROXY_FORMAT,
      transport: 'tcp',
      listen: null,
      target: this.target,
      clock: 'seconds since the replay started',
      proxy_start_unix: this.startUnix,
      recorder: 'migwire replay',
      connection_count: connections.length,
      connections,
      chunks_file: CHUNKS_FILE,
      chunk_count: this.files.chunkCount,
      status: this.writeError ? 'recording-failed' : 'complete',
      ...(this.writeError ? { failure: this.writeError } : {}),
      roles: roleRows(connections),
    });
  }
}
