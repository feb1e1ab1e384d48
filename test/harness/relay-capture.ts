/**
 * A blind loopback relay between source and destination QEMU that keeps every byte it forwards,
 * and a real packet capture (tcpdump: pcap, dumpcap: pcapng) of the relay-to-destination leg only
 * (a migration seen on both legs would appear twice). QEMU-HARNESS.md, "Capturing with tcpdump
 * and dumpcap": a large kernel buffer, or tcpdump drops packets on loopback.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export type PacketCapturer = 'tcpdump' | 'dumpcap';

export function haveCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What the relay forwarded on one connection: source's bytes and the destination's, in order. */
export interface RelayedConnection {
  /** The relay's local port toward the destination: the connection's source port in the capture. */
  capturedPort: number;
  src2dst: Buffer[];
  dst2src: Buffer[];
  closed: Promise<void>;
}

export class CapturedRelay {
  readonly connections: RelayedConnection[] = [];
  private server: Server | undefined;
  private capturer: ChildProcess | undefined;
  private stderr = '';

  constructor(
    private readonly tool: PacketCapturer,
    readonly file: string,
  ) {}

  /** Start capturing the destination's port, then listen; returns the port the source dials. */
  async start(target: { host: string; port: number }): Promise<number> {
    const filter = `tcp port ${target.port}`;
    const args = this.tool === 'tcpdump' ? ['-i', 'lo', '-B', '262144', '-U', '-s', '0', '-w', this.file, filter] : ['-q', '-i', 'lo', '-B', '256', '-f', filter, '-w', this.file];
    this.capturer = spawn(this.tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.capturer.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    await this.capturing();
    this.server = createServer((src) => this.relay(src, target));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  private async capturing(): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (this.capturer!.exitCode !== null) throw new Error(`${this.tool} exited: ${this.stderr}`);
      if (this.tool === 'tcpdump' ? this.stderr.includes('listening on') : size(this.file) > 0) break;
      if (Date.now() > deadline) throw new Error(`${this.tool} did not start: ${this.stderr}`);
      await delay(50);
    }
    await delay(300); // the kernel filter is attached just after
  }

  private relay(src: Socket, target: { host: string; port: number }): void {
    src.pause();
    const dst = connect(target.port, target.host);
    let done!: () => void;
    const closed = new Promise<void>((r) => (done = r));
    const c: RelayedConnection = { capturedPort: 0, src2dst: [], dst2src: [], closed };
    this.connections.push(c);
    let open = 2;
    const closeOne = (): void => void (--open === 0 && done());
    dst.on('connect', () => {
      c.capturedPort = dst.localPort!;
      src.resume();
    });
    src.on('data', (b: Buffer) => void (c.src2dst.push(b), dst.write(b)));
    dst.on('data', (b: Buffer) => void (c.dst2src.push(b), src.write(b)));
    src.on('end', () => dst.end());
    dst.on('end', () => src.end());
    src.on('close', closeOne);
    dst.on('close', closeOne);
    src.on('error', () => dst.destroy());
    dst.on('error', () => src.destroy());
  }

  /** Wait for every relayed connection to close (up to `ms`), let the capture file settle, stop the capturer. */
  async stop(ms = 10_000): Promise<void> {
    await Promise.race([Promise.all(this.connections.map((c) => c.closed)), delay(ms)]);
    this.server?.close();
    // The capturer hands packets over per ring-buffer block (up to 1 s late): wait until the file
    // holds every relayed byte and has not grown for 2 s (a capturer starved of CPU pauses).
    const relayed = this.connections.reduce((n, c) => n + [...c.src2dst, ...c.dst2src].reduce((k, b) => k + b.length, 0), 0);
    for (let last = -1, still = 0, waited = 0; still < 2000 && ms > 0 && waited < 60_000; waited += 250) {
      await delay(250);
      const now = size(this.file);
      still = now === last && now > relayed ? still + 250 : 0;
      last = now;
    }
    const c = this.capturer;
    if (c && c.exitCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGINT');
      await exited;
    }
  }
}

function size(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
