/**
 * The blind relays `record` is measured against: the floor for moving the same bytes through a
 * process with nothing recorded. Three, and the fastest in a run is the floor:
 *  - Node's socket.pipe both ways (64 KiB reads, a fresh buffer each);
 *  - a Node relay reading 1 MiB at a time into four reused buffers (socat -b 1M's model);
 *  - socat -b 1048576 itself, when it is installed (a process per connection).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, Socket, type AddressInfo, type Server } from 'node:net';

export const LOOPBACK = '127.0.0.1';
const MiB = 1024 * 1024;

export interface Relay {
  port: number;
  close(): Promise<void>;
}

async function listenOn(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

const closeServer = (server: Server): Promise<void> => new Promise((r) => server.close(() => r()));

function tieEnds(a: Socket, b: Socket): void {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

/** socket.pipe both ways. */
export async function startPipeRelay(targetPort: number): Promise<Relay> {
  const server = createServer({ allowHalfOpen: true }, (src) => {
    const dst = connect({ host: LOOPBACK, port: targetPort, allowHalfOpen: true });
    src.pipe(dst);
    dst.pipe(src);
    tieEnds(src, dst);
  });
  return { port: await listenOn(server), close: () => closeServer(server) };
}

/**
 * The source's bytes read 1 MiB at a time into four buffers in turn, each written on before it is
 * read into again (the reader pauses when the next one is still being written); the way back by
 * socket.pipe. The accepted socket's handle is re-made with `onread`, as the recorder does.
 */
export async function startBigReadRelay(targetPort: number): Promise<Relay> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (raw) => {
    const dst = connect({ host: LOOPBACK, port: targetPort, allowHalfOpen: true });
    const bufs = Array.from({ length: 4 }, () => ({ bytes: Buffer.allocUnsafeSlow(MiB), busy: false }));
    let next = 0;
    let waiting = false;
    const shell = raw as unknown as { _handle: unknown };
    const handle = shell._handle;
    shell._handle = null;
    raw.destroy();
    const src: Socket = new Socket({
      handle,
      allowHalfOpen: true,
      readable: true,
      writable: true,
      onread: {
        buffer: () => bufs[next]!.bytes,
        callback: (n: number, buf: Buffer) => {
          const cur = bufs[next]!;
          cur.busy = true;
          dst.write(buf.subarray(0, n), () => {
            cur.busy = false;
            if (waiting) {
              waiting = false;
              src.resume();
            }
          });
          next = (next + 1) % bufs.length;
          if (!bufs[next]!.busy) return true;
          waiting = true;
          return false;
        },
      },
    } as ConstructorParameters<typeof Socket>[0]);
    src.on('end', () => dst.end());
    dst.pipe(src);
    tieEnds(src, dst);
  });
  return { port: await listenOn(server), close: () => closeServer(server) };
}

/** socat -b 1048576 between a free port and the target; undefined when socat is not installed. */
export async function startSocatRelay(targetPort: number): Promise<Relay | undefined> {
  const probe = createServer();
  const port = await listenOn(probe);
  await closeServer(probe);
  let child: ChildProcess;
  try {
    child = spawn('socat', ['-b', String(MiB), `TCP-LISTEN:${port},bind=${LOOPBACK},reuseaddr,fork`, `TCP:${LOOPBACK}:${targetPort}`], { stdio: 'ignore', detached: true });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve());
    });
  } catch {
    return undefined;
  }
  // Listening once a connection is accepted (and closed at once: socat's child for it just ends).
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host: LOOPBACK, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 100) {
      child.kill();
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    close: async () => {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 50));
    },
  };
}
