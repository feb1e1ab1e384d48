/** `migwire record` run as a child process, and loopback peers to drive it (fault tests). */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { BIN } from '../paths.js';

export interface RecordRun {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  /** Exit code (null when killed by a signal) and how long after `since` it came. */
  exited: Promise<{ code: number | null; at: number }>;
}

/** Start `migwire record --listen 127.0.0.1:0 --target ... --out DIR ...args`; resolves once it listens. */
/** The child's exit, or a SIGKILL and `code: null` after `ms` (no orphan outlives a failing test). */
export function exitWithin(run: RecordRun, ms: number): Promise<{ code: number | null; at: number }> {
  const timer = setTimeout(() => run.child.kill('SIGKILL'), ms);
  return run.exited.finally(() => clearTimeout(timer));
}

export async function startRecord(targetPort: number, outDir: string, args: string[] = []): Promise<RecordRun> {
  const child = spawn(process.execPath, [BIN, 'record', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--out', outDir, '--quiet', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((r) => child.once('exit', (code) => r({ code, at: Date.now() })));
  const port = await new Promise<number>((resolve, reject) => {
    const look = (): void => {
      const m = /listening on [^ ]+:(\d+),/.exec(err);
      if (m) resolve(Number(m[1]));
    };
    child.stderr!.on('data', look);
    void exited.then(({ code }) => reject(new Error(`record exited ${code} before listening: ${err}`)));
  });
  return { child, port, stdout: () => out, stderr: () => err, exited };
}

/** A destination: `mode` says what it does with each connection. */
export async function destination(onConn: (s: Socket) => void): Promise<{ server: Server; port: number; sockets: Socket[]; close(): void }> {
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
    s.on('error', () => {});
    sockets.push(s);
    onConn(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

export async function source(port: number): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

/** Keep writing `chunk` while the socket takes it, until `stop()` says so; returns bytes handed over. */
export function pushUntil(s: Socket, chunk: Buffer, stop: () => boolean): Promise<number> {
  let n = 0;
  return new Promise((resolve) => {
    const go = (): void => {
      while (!stop() && !s.destroyed) {
        n += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', go);
      }
      resolve(n);
    };
    s.once('close', () => resolve(n));
    go();
  });
}

export const QEVM = Buffer.from('QEVM\0\0\0\x03', 'latin1');
