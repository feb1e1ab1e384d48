/**
 * record: loopback throughput through a proxy, as `migwire record` sits between QEMU endpoints,
 * against a Node blind relay (socket.pipe both ways) and a plain write of the same bytes.
 */
import { createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { RecordingProxy } from '@migwire/channel-manager';
import { LiveChecker } from '@migwire/sync';
import { CHUNK, MiB, measure, pct, record, type Measured } from './figures.js';
import { WORK } from './paths.js';
import { makeMultifdCapture } from './synthetic.js';

export const LOOPBACK = '127.0.0.1';
const PROXY_CHANNELS = 4;

async function listenOn(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

const closeServer = (server: Server): Promise<void> => new Promise((r) => server.close(() => r()));

/** The baseline: a minimal blind proxy, socket.pipe both ways. */
async function startPipeProxy(targetPort: number): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (src) => {
    const dst = connect({ host: LOOPBACK, port: targetPort, allowHalfOpen: true });
    src.pipe(dst);
    dst.pipe(src);
    src.on('error', () => dst.destroy());
    dst.on('error', () => src.destroy());
    src.on('close', () => dst.destroy());
    dst.on('close', () => src.destroy());
  });
  return { server, port: await listenOn(server) };
}

/** The source and destination endpoints, in a child process (bench/peers.ts). */
export interface Peers {
  sinkPort: number;
  synthetic(port: number, perChannel: number, channels?: number): Promise<number>;
  files(port: number, files: string[]): Promise<number>;
  received(): Promise<number>;
  close(): void;
}


export async function startPeers(): Promise<Peers> {
  const { fork } = await import('node:child_process');
  const child = fork(join(dirname(fileURLToPath(import.meta.url)), 'peers.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>();
  let next = 0;
  const sinkPort = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench peers exited (${code})`)));
    child.on('message', (m: { type?: string; sinkPort?: number; id?: number; bytes?: number; error?: string }) => {
      if (m.type === 'ready') return resolve(m.sinkPort!);
      const w = waiting.get(m.id!);
      waiting.delete(m.id!);
      if (m.error) w?.reject(new Error(m.error));
      else w?.resolve(m.bytes!);
    });
  });
  const ask = (req: Record<string, unknown>): Promise<number> =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      child.send({ id, ...req });
    });
  return {
    sinkPort,
    synthetic: (port, perChannel, channels = PROXY_CHANNELS) => ask({ op: 'synthetic', port, perChannel, channels }),
    files: (port, files) => ask({ op: 'files', port, files }),
    received: () => ask({ op: 'received' }),
    close: () => child.kill(),
  };
}

export async function benchRecord(sizeMiB: number): Promise<void> {
  const perChannel = Math.floor((sizeMiB * MiB) / PROXY_CHANNELS);
  const total = perChannel * PROXY_CHANNELS;
  const peers = await startPeers();
  const mfDir = join(WORK, `multifd-none-${sizeMiB}`);
  if (!existsSync(join(mfDir, 'conn04.src2dst.bin'))) await makeMultifdCapture(mfDir, 'none', sizeMiB);
  const files = [1, 2, 3, 4].map((c) => join(mfDir, `conn0${c}.src2dst.bin`));
  type M = Measured;
  const checked = async (before: number, r: M, want: number): Promise<M> => {
    const got = (await peers.received()) - before;
    if (got !== r.bytes || r.bytes !== want) throw new Error(`sink got ${got} bytes of ${want}`);
    return r;
  };

  // Each variant once per round, rounds interleaved, best of three: this machine's loopback
  // throughput drifts by tens of percent from one second to the next.
  // `channels` connections share the same total: 1 of `total` bytes or 4 of a quarter each.
  const pipeVariant = async (channels: number): Promise<M> => {
    const pipe = await startPipeProxy(peers.sinkPort);
    const before = await peers.received();
    const r = await measure(() => peers.synthetic(pipe.port, total / channels, channels));
    await closeServer(pipe.server);
    return checked(before, r, total);
  };
  const proxyVariant = async (outDir: string | undefined, send: 'synthetic' | 'files', check: boolean, channels = PROXY_CHANNELS, directIo = false): Promise<M> => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    const live = check ? new LiveChecker() : undefined;
    const p = new RecordingProxy({
      listen: { host: LOOPBACK, port: 0 },
      target: { host: LOOPBACK, port: peers.sinkPort },
      ...(outDir ? { outDir } : {}),
      ...(directIo ? { directIo: true } : {}),
      ...(live ? { onChunk: (c: number, d: 'src2dst' | 'dst2src', chunk: Buffer, t: number) => live.onChunk(c, d, chunk, t) } : {}),
    });
    if (live) p.on('role', (id: number, role: string, mf?: number) => live.onRole(id, role, mf));
    const port = (await p.start()).port;
    const before = await peers.received();
    // The transfer (what a migration waits for) is measured; closing the recording (flush,
    // sha256 of the files, index.json) happens after the migration and is not.
    const r = await measure(async () => {
      return send === 'synthetic' ? peers.synthetic(port, total / channels, channels) : peers.files(port, files);
    });
    const index = await p.close(1000);
    if (!index.all_recorded_equals_forwarded) throw new Error('recording is not equal to what was forwarded');
    if (live?.violations.length) throw new Error(`${live.violations.length} live violations on a valid stream`);
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    return checked(before, r, send === 'synthetic' ? total : files.reduce((n, f) => n + statSync(f).size, 0));
  };
  // The other bound on recording: how fast this process can write the same bytes to files on
  // the capture's file system (one file per channel, at once, 256 KiB writes, as the recorder gets them).
  const diskVariant = async (channels: number): Promise<M> => {
    const dir = join(WORK, 'record-disk-baseline');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const block = Buffer.alloc(CHUNK, 0x5a);
    const r = await measure(async () => {
      const each = total / channels;
      const one = async (i: number): Promise<number> => {
        const out = createWriteStream(join(dir, `conn0${i}.bin`), { highWaterMark: MiB });
        for (let n = 0; n < each; n += CHUNK) if (!out.write(block.subarray(0, Math.min(CHUNK, each - n)))) await once(out, 'drain');
        out.end();
        await once(out, 'close');
        return each;
      };
      return (await Promise.all(Array.from({ length: channels }, (_, i) => one(i + 1)))).reduce((a, b) => a + b, 0);
    });
    rmSync(dir, { recursive: true, force: true });
    return r;
  };
  const capture = join(WORK, 'record-capture');
  const variants: Array<[string, () => Promise<M>]> = [
    ['pipe', () => pipeVariant(PROXY_CHANNELS)],
    ['write', () => diskVariant(PROXY_CHANNELS)],
    ['blind', () => proxyVariant(undefined, 'synthetic', false)],
    ['disk', () => proxyVariant(capture, 'synthetic', false)],
    ['pipe 1', () => pipeVariant(1)],
    ['write 1', () => diskVariant(1)],
    ['disk 1', () => proxyVariant(capture, 'synthetic', false, 1)],
    ['direct', () => proxyVariant(capture, 'synthetic', false, PROXY_CHANNELS, true)],
    ['direct 1', () => proxyVariant(capture, 'synthetic', false, 1, true)],
    ['files', () => proxyVariant(capture, 'files', false)],
    ['check', () => proxyVariant(capture, 'files', true)],
  ];
  const warm = await startPipeProxy(peers.sinkPort);
  await peers.synthetic(warm.port, 16 * MiB);
  await closeServer(warm.server);
  const best = new Map<string, M>();
  for (let round = 0; round < 3; round++) {
    for (const [name, run] of variants) {
      const r = await run();
      const b = best.get(name);
      if (!b || r.seconds / r.bytes < b.seconds / b.bytes) best.set(name, r);
    }
  }
  const base = best.get('pipe')!;
  record('proxy (4 ch): blind socket.pipe', base, undefined, `best of 3; ${PROXY_CHANNELS} concurrent loopback connections, ${CHUNK / 1024} KiB writes, endpoints in another process`);
  record('proxy (4 ch): RecordingProxy, no outDir', best.get('blind')!, base, 'best of 3', 'blind pipe');
  const write = best.get('write')!;
  record('file write (4 files), no network', write, undefined, 'best of 3; the file system bound on any recording');
  // Recording can go no faster than the slower of the pipe and the disk: that is its baseline.
  const bound = write.seconds / write.bytes > base.seconds / base.bytes ? write : base;
  const boundName = bound === write ? 'file write' : 'blind pipe';
  record('proxy (4 ch): RecordingProxy to disk', best.get('disk')!, bound, `best of 3; ${pct(best.get('disk')!, base)} of the blind pipe`, boundName);
  record('proxy (4 ch): to disk with --direct-io (O_DIRECT)', best.get('direct')!, bound, `best of 3; ${pct(best.get('direct')!, base)} of the blind pipe`, boundName);
  record('proxy (4 multifd files): record to disk', best.get('files')!, bound, `best of 3; ${pct(best.get('files')!, base)} of the blind pipe`, boundName);
  record('proxy (4 multifd files): record --check', best.get('check')!, best.get('files')!, 'best of 3; live rules decode every channel', 'record without --check');
  const pipe1 = best.get('pipe 1')!;
  const write1 = best.get('write 1')!;
  record('proxy (1 ch): blind socket.pipe', pipe1, undefined, 'best of 3; one connection');
  record('file write (1 file), no network', write1, undefined, 'best of 3');
  const bound1 = write1.seconds / write1.bytes > pipe1.seconds / pipe1.bytes ? write1 : pipe1;
  record('proxy (1 ch): RecordingProxy to disk', best.get('disk 1')!, bound1, `best of 3; ${pct(best.get('disk 1')!, pipe1)} of the blind pipe`, bound1 === write1 ? 'file write' : 'blind pipe');
  record('proxy (1 ch): to disk with --direct-io (O_DIRECT)', best.get('direct 1')!, bound1, `best of 3; ${pct(best.get('direct 1')!, pipe1)} of the blind pipe`, bound1 === write1 ? 'file write' : 'blind pipe');
  peers.close();
}
