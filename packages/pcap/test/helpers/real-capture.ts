/**
 * Real captures for tests: a loopback TCP transfer of known bytes in both directions, recorded
 * by tcpdump or dumpcap.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function haveTool(name: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}

export type Capturer = 'tcpdump' | 'dumpcap';

function startCapturer(tool: Capturer, port: number, file: string): ChildProcess {
  const filter = `tcp port ${port}`;
  const args =
    tool === 'tcpdump'
      ? ['-i', 'lo', '-B', '262144', '-U', '-s', '0', '-w', file, filter]
      : ['-q', '-i', 'lo', '-B', '256', '-f', filter, '-w', file];
  return spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Resolves once the capturer is recording (tcpdump says so; dumpcap has written its header). */
async function ready(tool: Capturer, child: ChildProcess, file: string): Promise<void> {
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${tool} exited: ${stderr}`);
    if (tool === 'tcpdump' && stderr.includes('listening on')) break;
    if (tool === 'dumpcap' && (await stat(file).then((s) => s.size > 0, () => false))) break;
    if (Date.now() > deadline) throw new Error(`${tool} did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300)); // the kernel filter is attached just after
}

/** Waits until the capture file stops growing: the capturer has written what the kernel queued. */
/**
 * Waits until the capture file holds at least `payload` bytes (every byte sent, plus headers) and
 * has stopped growing for two looks in a row: a capturer starved of CPU by a loaded machine can
 * pause between writes, and stopping it then loses the packets it had not read yet.
 */
async function settled(file: string, payload: number): Promise<void> {
  let last = -1;
  let still = 0;
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const size = (await stat(file)).size;
    still = size === last && size > payload ? still + 1 : 0;
    if (still >= 2) return;
    last = size;
  }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await exited;
}

/** Sends `up` client->server and `down` server->client at once over loopback while capturing. */
export async function captureTransfer(tool: Capturer, file: string, up: Uint8Array, down: Uint8Array): Promise<number> {
  const received = { server: 0, client: 0 };
  // Both directions must have ended (each FIN seen by its peer) before the capture is stopped:
  // the client's end only says the server's direction is done, its own may still be in flight.
  let serverEnded!: () => void;
  const serverDone = new Promise<void>((r) => (serverEnded = r));
  const server = createServer((sock) => {
    sock.on('data', (d) => (received.server += d.length));
    sock.on('end', () => serverEnded());
    sock.end(down);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const child = startCapturer(tool, port, file);
  try {
    await ready(tool, child, file);
    const client: Socket = connect(port, '127.0.0.1');
    const done = new Promise<void>((resolve, reject) => {
      client.on('data', (d) => (received.client += d.length));
      client.on('end', resolve);
      client.on('error', reject);
    });
    client.end(up);
    await Promise.all([done, serverDone]);
    await settled(file, up.length + down.length);
  } finally {
    await stop(child);
    server.close();
  }
  if (received.server !== up.length || received.client !== down.length) throw new Error('transfer incomplete');
  return port;
}

/** Both directions of TCP stream 0 per `tshark -z follow,tcp,raw,0`: [client->server, server->client]. */
export async function tsharkFollow(file: string): Promise<[Buffer, Buffer]> {
  const { stdout } = await run('tshark', ['-r', file, '-q', '-z', 'follow,tcp,raw,0'], { maxBuffer: 1 << 30 });
  const hex: [string[], string[]] = [[], []];
  for (const line of stdout.split('\n')) {
    // Data lines are bare hex; the second node's are indented with a tab.
    const m = /^(\t?)([0-9a-f]+)$/.exec(line);
    if (m) hex[m[1] ? 1 : 0].push(m[2]!);
  }
  return [Buffer.from(hex[0].join(''), 'hex'), Buffer.from(hex[1].join(''), 'hex')];
}
