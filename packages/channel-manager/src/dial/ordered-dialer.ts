/**
 * Outbound connections opened strictly one after another, so the peer
 * accepts them in the order they were asked for. QEMU's destination tells
 * TLS channels apart only by arrival order; a proxy that reorders breaks it.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';

export interface DialTarget {
  host: string;
  port: number;
}

export class OrderedDialer {
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly target: DialTarget,
    private readonly tls?: ConnectionOptions,
  ) {}

  /** Connect after every earlier dial has connected (or failed). */
  dial(): Promise<Socket | TLSSocket> {
    const p = this.last.then(() => this.open());
    this.last = p.catch(() => undefined);
    return p;
  }

  private open(): Promise<Socket | TLSSocket> {
    return new Promise((resolve, reject) => {
      const { host, port } = this.target;
      const s = this.tls
        ? tlsConnect({ host, port, ...this.tls, allowHalfOpen: true } as ConnectionOptions)
        : connect({ host, port, allowHalfOpen: true });
      const event = this.tls ? 'secureConnect' : 'connect';
      const onError = (e: Error): void => reject(e);
      s.once('error', onError);
      s.once(event, () => {
        s.off('error', onError);
        s.setNoDelay(true);
        resolve(s);
      });
    });
  }
}
