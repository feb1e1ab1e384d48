/**
 * Accept side for migration implementations: listen, read each connection's
 * first bytes (Node cannot MSG_PEEK, so they are read and handed over with
 * the socket), name the channel, and report when all are established.
 * A connection QEMU would refuse gets a typed error; the others go on.
 */
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { identifyChannel, IDENTIFY_BYTES } from '@migwire/stream-codec';
import { ChannelRegistry, type AssignedChannel, type ChannelLayout } from './registry.js';
import { ChannelError } from '../errors.js';

export interface AcceptedChannel extends AssignedChannel {
  socket: Socket;
  /** Bytes already read to identify the channel: they belong at the start of its stream. */
  head: Buffer;
}

export interface MigrationAcceptorOptions extends ChannelLayout {
  /** How long a connection may stay silent before it is named by position (preempt sends no header). */
  firstBytesTimeoutMs?: number;
}

export interface MigrationAcceptorEvents {
  channel: [AcceptedChannel];
  established: [];
  error: [ChannelError];
}

export class MigrationAcceptor extends EventEmitter<MigrationAcceptorEvents> {
  private server: Server | undefined;
  private count = 0;
  private announced = false;
  readonly registry: ChannelRegistry;

  constructor(private readonly o: MigrationAcceptorOptions = {}) {
    super();
    this.registry = new ChannelRegistry(o);
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<{ host: string; port: number }> {
    const server = createServer({ allowHalfOpen: true }, (s) => this.onConnection(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private onConnection(socket: Socket): void {
    const connection = this.count++;
    let head = Buffer.alloc(0);
    let settled = false;
    const settle = (ended: boolean, silent = false): void => {
      if (settled) return;
      const first = identifyChannel(head, { ended, postcopyPreempt: false });
      if (!first && !ended && head.length < IDENTIFY_BYTES) return;
      settled = true;
      socket.off('data', onData);
      socket.pause();
      clearTimeout(timer);
      try {
        // Silent past the timeout (but still open): a headerless channel, named by position.
        const a = this.registry.assign(connection, head.length || silent ? (first ?? { role: 'other' }) : undefined);
        this.emit('channel', { ...a, socket, head });
        if (!this.announced && this.registry.allEstablished) {
          this.announced = true;
          this.emit('established');
        }
      } catch (e) {
        socket.destroy();
        if (e instanceof ChannelError) this.emit('error', e);
        else throw e;
      }
    };
    const onData = (b: Buffer): void => {
      head = Buffer.concat([head, b]);
      settle(false);
    };
    // A silent connection after main and every multifd channel is the preempt channel.
    const timer = setTimeout(() => settle(true, true), this.o.firstBytesTimeoutMs ?? 1000);
    socket.on('data', onData);
    socket.once('end', () => settle(true));
    socket.on('error', () => settle(true));
  }
}
