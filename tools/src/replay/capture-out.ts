/**
 * `--out DIR`: the replay written as a capture in the shared format, so dump, check and extract
 * read it: what was sent (connNN.src2dst.bin), what the destination sent back (connNN.dst2src.bin),
 * chunks.csv with replay times, and index.json.
 */
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { captureRoles, DirectionRecorder, type DirectionStats } from '@migwire/channel-manager';

interface OutConn {
  id: number;
  role: string;
  up: DirectionRecorder;
  down: DirectionRecorder;
  connectedAt: number | null;
  closedAt: number | null;
}

export class CaptureOut {
  private readonly conns = new Map<number, OutConn>();
  private readonly chunks: WriteStream;
  private seq = 0;
  private readonly startUnix = Date.now() / 1000;
  writeError: string | null = null;

  constructor(
    readonly dir: string,
    private readonly target: string,
    private readonly now: () => number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.chunks = createWriteStream(join(dir, 'chunks.csv'));
    this.chunks.write('seq,t,conn,dir,offset,len\n');
  }

  add(id: number, role: string): void {
    const name = (d: string): string => `conn${String(id).padStart(2, '0')}.${d}.bin`;
    const onErr = (m: string): void => void (this.writeError ??= m);
    this.conns.set(id, {
      id,
      role,
      up: new DirectionRecorder('src2dst', name('src2dst'), join(this.dir, name('src2dst')), onErr),
      down: new DirectionRecorder('dst2src', name('dst2src'), join(this.dir, name('dst2src')), onErr),
      connectedAt: this.now(),
      closedAt: null,
    });
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
    this.chunks.write(`${this.seq++},${this.now().toFixed(6)},${id},${r.name},${r.received},${chunk.length}\n`);
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
    await new Promise<void>((r) => this.chunks.end(() => r()));
    const connections = list.map((c) => {
      const directions: { src2dst: DirectionStats; dst2src: DirectionStats } = { src2dst: c.up.stats(), dst2src: c.down.stats() };
      return { id: c.id, role: c.role, accepted_at: c.connectedAt, target_connected_at: c.connectedAt, closed_at: c.closedAt, forced_close: false, directions };
    });
    const index = {
      format: 'qemu-migration-capture/tcp-proxy/1',
      transport: 'tcp',
      listen: null,
      target: this.target,
      clock: 'seconds since the replay started',
      proxy_start_unix: this.startUnix,
      recorder: 'migwire replay',
      connection_count: connections.length,
      connections,
      chunks_file: 'chunks.csv',
      chunk_count: this.seq,
      status: this.writeError ? 'recording-failed' : 'complete',
      ...(this.writeError ? { failure: this.writeError } : {}),
      roles: captureRoles(connections),
    };
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
  }
}
