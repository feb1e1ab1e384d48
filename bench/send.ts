/**
 * The sending end of the bench's loopback transfers: one connection that sends and then waits
 * for the far end to close its side too. Used by peers.ts (the endpoints' process) and by run.ts
 * (the in-process file-to-socket baseline of the replay figure).
 */
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

const LOOPBACK = '127.0.0.1';
const CHUNK = 256 * 1024;

/** Connect, run `send`, end, and wait for the far end to end as well. */
export async function connection(port: number, send: (s: Socket) => Promise<number>): Promise<number> {
  const s: Socket = connect({ host: LOOPBACK, port, allowHalfOpen: true });
  s.setNoDelay(true);
  await once(s, 'connect');
  const ended = new Promise<void>((resolve, reject) => {
    s.on('error', reject);
    s.on('end', () => resolve());
    s.resume();
  });
  const sent = await send(s);
  s.end();
  await ended;
  s.destroy();
  return sent;
}

export async function write(s: Socket, b: Buffer): Promise<void> {
  if (!s.write(b)) await once(s, 'drain');
}

/** Send a file on one connection; resolves with the bytes sent once the far end has ended. */
export function sendFile(port: number, path: string): Promise<number> {
  return connection(port, async (s) => {
    let sent = 0;
    for await (const c of createReadStream(path, { highWaterMark: CHUNK })) {
      sent += (c as Buffer).length;
      await write(s, c as Buffer);
    }
    return sent;
  });
}
