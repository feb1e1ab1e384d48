/**
 * record: loopback throughput through a proxy, as `migwire record` sits between QEMU endpoints,
 * against the fastest blind relay of the run (relays.ts) and a plain write of the same bytes.
 */
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordingProxy } from '@migwire/channel-manager';
import { LiveChecker } from '@migwire/sync';
import { MiB, cpuNote, measure, pct, record as recordFigure, type Measured } from './figures.js';
import { WORK } from './paths.js';
import { makeMultifdCapture } from './synthetic.js';
import { LOOPBACK, startBigReadRelay, startPipeRelay, startSocatRelay, type Relay } from './relays.js';

export { LOOPBACK };

/** A record-bench figure; its note says how busy the machine was (the endpoints share its cores). */
function record(name: string, r: Measured, baseline?: Measured, note?: string, baselineName?: string): void {
  const cpu = cpuNote(r);
  recordFigure(name, r, baseline, [note, cpu].filter(Boolean).join('; ') || undefined, baselineName);
}
const PROXY_CHANNELS = 4;
/**
 * Rounds per variant (best taken). The same transfer's system time swings two- to threefold here
 * from run to run (new page-cache pages cost what the VM's free-page reporting makes them cost),
 * and three rounds still left two near-identical variants (record, record --check: the live rules
 * cost ~0.05 s of CPU per GiB) 15% apart in some runs.
 */
const ROUNDS = 5;

/** The source and destination endpoints, in a child process (bench/peers.ts). */
export interface Peers {
  sinkPort: number;
  synthetic(port: number, perChannel: number, channels?: number): Promise<number>;
  files(port: number, files: string[]): Promise<number>;
  /** Read the files into the endpoints' memory (before timing `files`). */
  load(files: string[]): Promise<number>;
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
    load: (files) => ask({ op: 'load', files }),
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

  // Each variant once per round, rounds interleaved, best of ROUNDS: this machine's loopback
  // throughput drifts by tens of percent from one second to the next.
  // `channels` connections share the same total: 1 of `total` bytes or 4 of a quarter each.
  const filesBytes = files.reduce((n, f) => n + statSync(f).size, 0);
  await peers.load(files);
  const relayVariant = async (start: (port: number) => Promise<Relay | undefined>, channels: number, send: 'synthetic' | 'files' = 'synthetic'): Promise<M | undefined> => {
    const relay = await start(peers.sinkPort);
    if (!relay) return undefined;
    const before = await peers.received();
    const r = await measure(() => (send === 'synthetic' ? peers.synthetic(relay.port, total / channels, channels) : peers.files(relay.port, files)));
    await relay.close();
    return checked(before, r, send === 'synthetic' ? total : filesBytes);
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
    return checked(before, r, send === 'synthetic' ? total : filesBytes);
  };
  // The other bound on recording: how fast this process can write the same bytes to files on
  // the capture's file system (one file per channel, at once, 1 MiB writes, as the recorder makes them).
  const diskVariant = async (channels: number): Promise<M> => {
    const dir = join(WORK, 'record-disk-baseline');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const block = Buffer.alloc(MiB, 0x5a);
    const r = await measure(async () => {
      const each = total / channels;
      const one = async (i: number): Promise<number> => {
        const out = createWriteStream(join(dir, `conn0${i}.bin`), { highWaterMark: 4 * MiB });
        for (let n = 0; n < each; n += MiB) if (!out.write(block.subarray(0, Math.min(MiB, each - n)))) await once(out, 'drain');
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
  // Every variant that writes files starts from the same page-cache state: this VM's balloon hands
  // freed pages back to the host a few seconds after they are freed (free page reporting), and a
  // write into pages the host took back costs several times more system time. Unprimed, whichever
  // variant came right after another that deleted its files ran on cheap pages: the same recording
  // gave 752 MB/s after three relays and 1383 MB/s (--check) right after it, in one run.
  const primed = <T>(run: () => Promise<T>) => async (): Promise<T> => {
    primePageCache(join(WORK, 'prime.bin'), total + 64 * MiB);
    return run();
  };
  const socat = await startSocatRelay(peers.sinkPort);
  await socat?.close();
  const relays: Array<[string, (port: number) => Promise<Relay | undefined>]> = [
    ['pipe', startPipeRelay],
    ['1 MiB reads', startBigReadRelay],
    ...(socat ? [['socat', startSocatRelay] as [string, (port: number) => Promise<Relay | undefined>]] : []),
  ];
  const variants: Array<[string, () => Promise<M | undefined>]> = [
    ...relays.map(([name, start]): [string, () => Promise<M | undefined>] => [`relay ${name}`, () => relayVariant(start, PROXY_CHANNELS)]),
    ['write', primed(() => diskVariant(PROXY_CHANNELS))],
    ['blind', () => proxyVariant(undefined, 'synthetic', false)],
    ['disk', primed(() => proxyVariant(capture, 'synthetic', false))],
    ...relays.map(([name, start]): [string, () => Promise<M | undefined>] => [`relay ${name} 1`, () => relayVariant(start, 1)]),
    ['write 1', primed(() => diskVariant(1))],
    ['disk 1', primed(() => proxyVariant(capture, 'synthetic', false, 1))],
    ['direct', primed(() => proxyVariant(capture, 'synthetic', false, PROXY_CHANNELS, true))],
    ['direct 1', primed(() => proxyVariant(capture, 'synthetic', false, 1, true))],
    ...relays.map(([name, start]): [string, () => Promise<M | undefined>] => [`relay ${name} files`, () => relayVariant(start, PROXY_CHANNELS, 'files')]),
    ['files', primed(() => proxyVariant(capture, 'files', false))],
    ['check', primed(() => proxyVariant(capture, 'files', true))],
  ];
  const warm = await startPipeRelay(peers.sinkPort);
  await peers.synthetic(warm.port, 16 * MiB);
  await warm.close();
  const best = new Map<string, M>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of variants) {
      const r = await run();
      if (!r) continue;
      const b = best.get(name);
      if (!b || r.seconds / r.bytes < b.seconds / b.bytes) best.set(name, r);
    }
  }
  // The floor for each channel count: the fastest blind relay of this run, or the file write if slower.
  const speed = (m: M): number => m.bytes / m.seconds;
  const floorOf = (channels: number, suffix = channels === 1 ? ' 1' : ''): { m: M; name: string; relay: M; relayName: string } => {
    const measured = relays.map(([name]) => [name, best.get(`relay ${name}${suffix}`)!] as const);
    const [relayName, relay] = measured.reduce((a, b) => (speed(b[1]) > speed(a[1]) ? b : a));
    const write = best.get(`write${channels === 1 ? ' 1' : ''}`)!;
    return speed(write) < speed(relay) ? { m: write, name: 'file write', relay, relayName } : { m: relay, name: `blind relay (${relayName})`, relay, relayName };
  };
  const report = (channels: number): void => {
    const suffix = channels === 1 ? ' 1' : '';
    const what = channels === 1 ? '1 ch' : `${PROXY_CHANNELS} ch`;
    for (const [name] of relays) record(`proxy (${what}): blind relay, ${name}`, best.get(`relay ${name}${suffix}`)!, undefined, `best of ${ROUNDS}; ${channels} loopback connection(s), endpoints in another process`);
    record(`file write (${channels} file${channels === 1 ? '' : 's'}), no network`, best.get(`write${suffix}`)!, undefined, `best of ${ROUNDS}; the file system bound on any recording`);
    const floor = floorOf(channels);
    const vsPipe = (m: M): string => `best of ${ROUNDS}; ${pct(m, best.get(`relay pipe${suffix}`)!)} of socket.pipe`;
    if (channels !== 1) record(`proxy (${what}): RecordingProxy, no outDir`, best.get('blind')!, floor.relay, vsPipe(best.get('blind')!), `blind relay (${floor.relayName})`);
    record(`proxy (${what}): RecordingProxy to disk`, best.get(`disk${suffix}`)!, floor.m, vsPipe(best.get(`disk${suffix}`)!), floor.name);
    record(`proxy (${what}): to disk with --direct-io (O_DIRECT)`, best.get(`direct${suffix}`)!, floor.m, vsPipe(best.get(`direct${suffix}`)!), floor.name);
    if (channels !== 1) {
      const sameFiles = floorOf(channels, ' files');
      for (const [name] of relays) record(`proxy (${PROXY_CHANNELS} multifd files): blind relay, ${name}`, best.get(`relay ${name} files`)!, undefined, `best of ${ROUNDS}; the same files sent`);
      record(`proxy (${PROXY_CHANNELS} multifd files): record to disk`, best.get('files')!, sameFiles.m, `best of ${ROUNDS}; ${pct(best.get('files')!, best.get('relay pipe files')!)} of socket.pipe`, sameFiles.name);
      record(`proxy (${PROXY_CHANNELS} multifd files): record --check`, best.get('check')!, best.get('files')!, `best of ${ROUNDS}; live rules decode every channel`, 'record without --check');
    }
  };
  report(PROXY_CHANNELS);
  report(1);
  peers.close();
}

/** Write `bytes` into a new file at `path` and delete it: that much page cache freed just now. */
function primePageCache(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(MiB, 1);
  for (let at = 0; at < bytes; at += MiB) writeSync(fd, block);
  closeSync(fd);
  unlinkSync(path);
}
