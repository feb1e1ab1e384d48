/** Loopback client sockets for the tests: connect, read to the end, wait for the peer to close. */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export const HOST = '127.0.0.1';

/** A half-open capable client; errors after the connect are ignored (the tests look at close/end). */
export function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: HOST, port, allowHalfOpen: true });
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
  });
}

/** Everything the socket delivers until it ends, is reset or closes. */
export function readAll(s: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const done = (): void => resolve(Buffer.concat(parts));
    s.on('data', (b: Buffer) => parts.push(b));
    s.once('end', done);
    s.once('close', done);
    s.on('error', done);
    s.resume();
  });
}

/** The peer closed its side: 'end', a reset or 'close' (the client sockets are half-open capable). */
export function peerClosed(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve();
    s.once('end', () => resolve());
    s.once('close', () => resolve());
    s.on('error', () => resolve());
    s.resume();
  });
}

/** A free loopback port with nothing listening on it. */
export async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, HOST, () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
