/**
 * A proxy between a migration source and destination that records every
 * byte in both directions and loses none: one outbound connection per
 * inbound one, opened in the inbound order; half-close passed on; a reader
 * is paused while its peer or its file is behind (no unbounded buffering).
 * It writes the capture format of @migwire/capture (connNN.src2dst.bin /
 * .dst2src.bin, chunks.csv, index.json) through CaptureFiles.
 */
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { TcpProxyIndex } from '@migwire/capture';
import { createSecureContext, TLSSocket, type ConnectionOptions, type TlsOptions } from 'node:tls';
import { identifyChannel, type ChannelRole } from '@migwire/stream-codec';
import { ChannelRegistry, type ChannelLayout } from '../accept/registry.js';
import { ChannelError } from '../errors.js';
import { OrderedDialer, type DialTarget } from '../dial/ordered-dialer.js';
import { CaptureFiles } from './capture-files.js';
import type { DirectionRecorder } from './direction.js';
import { firstEvent } from './first-event.js';
import { buildProxyIndex, type ProxyConnection } from './proxy-index.js';
import { ReadSlabs, type Slab } from './read-slabs.js';
import { adoptWithSlabReads, type SlabSocket } from './slab-socket.js';

export interface TerminatingTls {
  /** Decrypt what the source sends (the proxy is the TLS server QEMU's source talks to). */
  server: TlsOptions;
  /** Encrypt toward the destination (the proxy is the TLS client). */
  client: ConnectionOptions;
}

export interface RecordingProxyOptions {
  listen: { host: string; port: number };
  target: DialTarget;
  /** Capture directory; omit to proxy without recording (a blind pipe, for comparison). */
  outDir?: string;
  layout?: ChannelLayout;
  /** Terminate TLS on both sides and record the plaintext; roles then come from the decrypted bytes. */
  tls?: TerminatingTls;
  /**
   * Sees every chunk as it is forwarded (live checks); must not change it, nor keep it past the
   * call: its memory is read into again (a decoder fed it calls ownPending() after write()).
   */
  onChunk?: (connection: number, direction: 'src2dst' | 'dst2src', chunk: Buffer, t: number) => void;
  /** Bytes a recording file may lag behind the network per direction (default 8 MiB). */
  fileBufferBytes?: number;
  /** Record into an output folder that is not empty, replacing files of the same name (never through a link). */
  force?: boolean;
  /**
   * Write the recording with O_DIRECT (around the page cache) where the file system allows it;
   * elsewhere through the page cache, with one 'notice' event saying so.
   */
  directIo?: boolean;
}


export interface ProxyProgress {
  t: number;
  connections: Array<{ id: number; role: ChannelRole; multifdId?: number; src2dst: number; dst2src: number; open: boolean }>;
}

interface Conn extends ProxyConnection {
  src: Socket;
  dst: Socket | null;
  done: Promise<void>;
}

export class RecordingProxy extends EventEmitter {
  private server: Server | undefined;
  private readonly conns: Conn[] = [];
  private readonly dialer: OrderedDialer;
  private readonly registry: ChannelRegistry;
  private readonly t0 = performance.now();
  private readonly startUnix = Date.now() / 1000;
  private readonly files: CaptureFiles;
  private readonly acceptErrors: string[] = [];
  private listenAddress = '';
  private secureContext: ReturnType<typeof createSecureContext> | undefined;

  constructor(private readonly o: RecordingProxyOptions) {
    super();
    this.dialer = new OrderedDialer(o.target, o.tls?.client);
    this.registry = new ChannelRegistry(o.layout ?? {});
    this.files = new CaptureFiles(o.outDir, { ...(o.fileBufferBytes !== undefined ? { fileBufferBytes: o.fileBufferBytes } : {}), force: o.force ?? false, directIo: o.directIo ?? false, onNotice: (m) => this.emit('notice', m) });
  }

  /** Seconds since the proxy started (the capture's clock). */
  now(): number {
    return (performance.now() - this.t0) / 1000;
  }

  async start(): Promise<{ host: string; port: number }> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.accept(s));
    this.server = server;
    server.on('error', (e) => this.acceptErrors.push(e.message));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.listen.port, this.o.listen.host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    this.listenAddress = `${a.address}:${a.port}`;
    return { host: a.address, port: a.port };
  }

  /** Connections so far, with their byte counts. */
  progress(): ProxyProgress {
    return {
      t: this.now(),
      connections: this.conns.map((c) => ({
        id: c.id,
        role: c.role,
        ...(c.multifdId !== undefined ? { multifdId: c.multifdId } : {}),
        src2dst: c.up.received,
        dst2src: c.down.received,
        open: c.closedAt === null,
      })),
    };
  }

  /** Resolves once every connection accepted so far has closed in both directions. */
  async allClosed(): Promise<void> {
    for (;;) {
      const n = this.conns.length;
      await Promise.all(this.conns.map((c) => c.done));
      if (this.conns.length === n) return;
    }
  }

  private accept(raw: Socket): void {
    const id = this.conns.length;
    const now = this.now();
    const tls = this.o.tls;
    const sourcePeer = `${raw.remoteAddress}:${raw.remotePort}`;
    const recorders = this.files.recorders(id, (m) => this.recordingFailed(id, m));
    // Plain TCP: the source's bytes are read into slabs (read-slabs.ts), read into again once done with.
    const slabbed = tls ? undefined : adoptWithSlabReads(raw, readSlabsFor(recorders.up.directIo), true);
    const src: Socket = slabbed ? slabbed.socket : tls
      ? new TLSSocket(raw, {
          isServer: true,
          // At most TLS 1.2 toward the source: a TLS 1.3 server sends its NewSessionTickets after
          // the handshake, and a QEMU source never reads its main/multifd channels, so they sit
          // unread in its socket; when it then closes, Linux answers unread data with a reset
          // and drops what the source still had queued (the tail of the stream never arrives).
          // Node cannot turn TLS 1.3 tickets off (no SSL_CTX_set_num_tickets); in TLS 1.2 they
          // are part of the handshake, which the source does read.
          secureContext: this.secureContext ??= createSecureContext({ ...tls.server, maxVersion: 'TLSv1.2' }),
          requestCert: tls.server.requestCert ?? true,
          rejectUnauthorized: tls.server.rejectUnauthorized ?? true,
        })
      : raw;
    const conn: Conn = {
      id,
      role: 'empty',
      roleError: null,
      acceptedAt: now,
      connectedAt: null,
      closedAt: null,
      forced: false,
      sourcePeer,
      targetLocal: null,
      connectError: null,
      src,
      dst: null,
      ...recorders,
      done: Promise.resolve(),
    };
    this.conns.push(conn);
    this.emit('connection', id);
    if (this.o.tls) {
      src.on('error', (e) => {
        if (conn.connectedAt === null) conn.connectError ??= `TLS handshake with the source failed: ${e.message}`;
      });
    }
    conn.done = new Promise<void>((resolve) => {
      let open = 2;
      const finished = (): void => {
        if (--open === 0) {
          conn.closedAt = this.now();
          src.destroy();
          conn.dst?.destroy();
          resolve();
          this.emit('connection-closed', id);
        }
      };
      this.dialer.dial().then(
        (dst) => {
          if (src.destroyed) {
            // Closed while dialing (a stop, a failed recording): the destination gets nothing.
            dst.destroy();
            conn.up.end('forced', this.now());
            conn.down.end('forced', this.now());
            open = 1;
            finished();
            return;
          }
          conn.dst = dst;
          conn.connectedAt = this.now();
          conn.targetLocal = `${dst.localAddress}:${dst.localPort}`;
          this.pump(conn, src, dst, conn.up, finished, slabbed);
          this.pump(conn, dst, src, conn.down, finished);
          src.resume();
        },
        (e: Error) => {
          conn.connectError = e.message;
          conn.up.end('send-error', this.now());
          conn.down.end('recv-error', this.now());
          conn.up.sendError = e.message;
          src.destroy();
          open = 1;
          finished();
        },
      );
    });
  }

  /** Why the recording stopped early (a file refused a write), if it did. */
  failure: string | undefined;

  /**
   * A file refused a write (disk full): the recording can no longer be complete, so it ends
   * here. Every connection is closed (QEMU sees the migration fail rather than a proxy that
   * silently stopped recording); what was received up to now is on disk.
   */
  private recordingFailed(connection: number, message: string): void {
    if (this.failure) return;
    this.failure = `writing connection ${connection} failed: ${message}`;
    this.emit('record-error', new Error(this.failure));
    const t = this.now();
    for (const c of this.conns) {
      if (c.closedAt === null) {
        // The file that refused ends with write-error; every other open direction was cut by us.
        for (const rec of [c.up, c.down]) rec.end(rec.writeError !== null ? 'write-error' : 'forced', t);
        c.forced ||= c.up.endReason === 'forced' || c.down.endReason === 'forced';
        c.src.destroy();
        c.dst?.destroy();
      }
    }
    this.server?.close();
  }

  private identify(conn: Conn, ended: boolean): void {
    if (conn.role !== 'empty' || conn.roleError) return;
    const head = conn.up.firstBytes();
    if (head.length === 0) return;
    const first = identifyChannel(head, { ended, postcopyPreempt: false });
    if (!first) return;
    try {
      const a = this.registry.assign(conn.id, first);
      conn.role = a.role;
      if (a.multifdId !== undefined) conn.multifdId = a.multifdId;
    } catch (e) {
      // A connection QEMU would reject is still forwarded (the destination decides); it is reported.
      conn.role = 'other';
      conn.roleError = e instanceof ChannelError ? e.message : String(e);
      this.emit('channel-error', e);
    }
    this.emit('role', conn.id, conn.role, conn.multifdId);
  }

  /** Forward and record what `from` reads; `slabbed`: it reads into slabs, released once written both ways. */
  private pump(conn: Conn, from: Socket, to: Socket, rec: DirectionRecorder, finished: () => void, slabbed?: SlabSocket): void {
    let waits = 0;
    const upstream = rec.name === 'src2dst';
    const forward = (chunk: Buffer, done?: () => void, slab?: Slab): void => {
      const t = this.now();
      this.files.chunk(t, conn.id, rec, chunk.length);
      const fileOk = rec.record(chunk, t, done, slab);
      if (upstream) this.identify(conn, false);
      this.o.onChunk?.(conn.id, rec.name, chunk, t);
      const n = chunk.length;
      const netOk = to.write(chunk, (err) => {
        if (!err) rec.sent += n;
        done?.();
      });
      if (!fileOk || !netOk) {
        // Hold this reader until both the peer and the file have taken what they were given.
        waits++;
        from.pause();
        const pending: Array<Promise<unknown>> = [];
        if (!fileOk) pending.push(rec.drained());
        if (!netOk) pending.push(firstEvent(to, ['drain', 'close']));
        void Promise.all(pending).then(() => {
          if (--waits === 0) from.resume();
        });
      }
    };
    if (slabbed) {
      slabbed.onRead = (view, slab) => {
        // Two hand-offs hold the slab: the file and the destination socket.
        slab.holds += 2;
        forward(view, () => slabbed.release(slab), slab);
      };
    }
    // Never fires for a socket reading into slabs; were a Node release to ignore `onread` on a
    // socket made from a handle, its bytes would come here instead of being lost.
    from.on('data', (chunk: Buffer) => forward(chunk));
    let ended = false;
    const end = (reason: 'eof' | 'recv-error' | 'send-error', err?: Error): void => {
      if (ended) return;
      ended = true;
      // A direction we ended ourselves (stop, disk full) keeps that reason, not the socket error it caused.
      if (rec.endReason === null) {
        if (reason === 'recv-error') rec.recvError = err?.message ?? null;
        if (reason === 'send-error') rec.sendError = err?.message ?? null;
      }
      rec.end(reason, this.now());
      if (upstream) {
        this.identify(conn, true);
        if (conn.role === 'main') this.registry.mainClosed();
      }
      // Pass the close on once everything given to the peer is out: a source that resets after
      // sending its last bytes must not lose the bytes still queued toward the destination.
      if (reason === 'send-error') from.destroy();
      else to.end();
      finished();
    };
    from.on('end', () => end('eof'));
    from.on('error', (e) => end('recv-error', e));
    to.on('error', (e) => end('send-error', e));
    from.on('close', () => end(from.readableEnded ? 'eof' : 'recv-error'));
  }

  /** Why index.json could not be written, if it could not. */
  indexError: string | undefined;

  /**
   * Stop accepting, wait up to `graceMs` for open connections to finish (then
   * close them, marked forced), flush every file and write index.json (atomically).
   * Never waits on a peer: a stalled connection is cut after the grace.
   */
  async close(graceMs = 0): Promise<TcpProxyIndex> {
    // Stop accepting; server.close's callback would wait for every open connection, so not awaited.
    this.server?.close();
    const all = this.allClosed();
    const within = (ms: number): Promise<boolean> => Promise.race([all.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    if (!(await within(graceMs))) {
      for (const c of this.conns) {
        if (c.closedAt === null) {
          c.forced = true;
          c.up.end('forced', this.now());
          c.down.end('forced', this.now());
          c.src.destroy();
          c.dst?.destroy();
        }
      }
      await within(1000); // destroyed sockets close at once; a dial still pending is not waited for
    }
    await Promise.all(this.conns.flatMap((c) => [c.up.close(), c.down.close()]));
    await this.files.closeChunks();
    const index = this.index();
    try {
      this.files.writeIndex(index);
    } catch (e) {
      this.indexError = (e as Error).message;
    }
    return index;
  }

  index(): TcpProxyIndex {
    return buildProxyIndex({
      conns: this.conns,
      failure: this.failure,
      chunksError: this.files.chunksError,
      chunkCount: this.files.chunkCount,
      tls: this.o.tls !== undefined,
      listen: this.listenAddress,
      target: `${this.o.target.host}:${this.o.target.port}`,
      startUnix: this.startUnix,
      acceptErrors: this.acceptErrors,
    });
  }
}

/** Slabs for a source connection: aligned when its file is written with O_DIRECT (and memory for them can be had). */
function readSlabsFor(directIo: boolean): ReadSlabs {
  if (directIo) {
    try {
      return new ReadSlabs({ aligned: true });
    } catch {
      // No page-aligned memory: the O_DIRECT file copies instead (and says so if it cannot either).
    }
  }
  return new ReadSlabs();
}
