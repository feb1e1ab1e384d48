/**
 * `pnpm bench`: throughput and memory of the codec and the tools, each as a
 * figure and as a ratio to a baseline measured in the same run on the same
 * bytes (a plain read), so noisy machines still give comparable numbers.
 *
 *   node bench/dist/run.js [--size-mib N] [--only NAME,...] [--json]
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { constants as zc, createDeflate, gunzipSync } from 'node:zlib';
import {
  MainStreamDecoder,
  MultifdDecoder,
  MultifdPageDecoder,
  encodeMainRecordParts,
  encodeMultifdRecordParts,
  decodeMultifdChannel,
  type MainRecordInput,
  type MultifdRamPacketRecord,
} from '@migwire/stream-codec';
import { main as cli, replayCapture, runExtract, runTranscode, type Output } from 'migwire';
import { writePcapOf } from './pcap-file.js';
import * as channelManager from '@migwire/channel-manager';
import { analyzeCapture } from '@migwire/report';
import { sendFile } from './send.js';
import { LiveChecker } from '@migwire/sync';

const ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'pnpm-workspace.yaml'))) d = dirname(d);
  return d;
})();
const WORK = join(ROOT, '.cache', 'bench');
const PAGE = 4096;
const MiB = 1024 * 1024;
/** Read size for both the baseline and the decoders: 256 KiB keeps a chunk in cache while it is decoded. */
const CHUNK = 256 * 1024;

const args = process.argv.slice(2);
const sizeMiB = Number(args[args.indexOf('--size-mib') + 1] ?? 0) || 1024;
const only = args.includes('--only') ? new Set(args[args.indexOf('--only') + 1]!.split(',')) : undefined;
const asJson = args.includes('--json');

interface Figure {
  name: string;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  baselineMbPerSec?: number;
  ratio?: number;
  peakRssMiB: number;
  note?: string;
}
const figures: Figure[] = [];

/** Peak RSS while `fn` runs, sampled every 20 ms. */
async function measure(fn: () => Promise<number>): Promise<{ bytes: number; seconds: number; peakRss: number }> {
  global.gc?.();
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const t0 = process.hrtime.bigint();
  const bytes = await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { bytes, seconds, peakRss: peak };
}

async function plainRead(path: string): Promise<number> {
  let n = 0;
  for await (const c of createReadStream(path, { highWaterMark: CHUNK })) n += (c as Buffer).length;
  return n;
}

function record(name: string, r: { bytes: number; seconds: number; peakRss: number }, baseline?: { bytes: number; seconds: number }, note?: string, baselineName = 'plain read'): void {
  const mbPerSec = r.bytes / 1e6 / r.seconds;
  const f: Figure = { name, bytes: r.bytes, seconds: r.seconds, mbPerSec, peakRssMiB: r.peakRss / MiB };
  if (baseline) {
    f.baselineMbPerSec = baseline.bytes / 1e6 / baseline.seconds;
    f.ratio = mbPerSec / f.baselineMbPerSec;
  }
  if (note) f.note = note;
  figures.push(f);
  if (!asJson) {
    const ratio = f.ratio !== undefined ? `  ${(f.ratio * 100).toFixed(0)}% of ${baselineName} (${f.baselineMbPerSec!.toFixed(0)} MB/s)` : '';
    console.log(`${name.padEnd(44)} ${(r.bytes / MiB).toFixed(0).padStart(6)} MiB ${mbPerSec.toFixed(0).padStart(7)} MB/s${ratio}  peak RSS ${f.peakRssMiB.toFixed(0)} MiB${note ? `  (${note})` : ''}`);
  }
}

/** Write parts to a file through a stream, respecting backpressure. */
async function writeFileFrom(path: string, gen: () => Generator<Uint8Array>): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const ws = createWriteStream(path, { highWaterMark: 4 * MiB });
  let buf: Uint8Array[] = [];
  let size = 0;
  for (const p of gen()) {
    buf.push(p);
    size += p.length;
    if (size >= 4 * MiB) {
      if (!ws.write(Buffer.concat(buf))) await once(ws, 'drain');
      buf = [];
      size = 0;
    }
  }
  ws.end(Buffer.concat(buf));
  await once(ws, 'finish');
}

function pageContent(i: number, out: Uint8Array): Uint8Array {
  // Non-zero, varying data: what a busy guest's RAM looks like to the decoder.
  out.fill(i & 0xff);
  out[0] = i >>> 24;
  out[1] = i >>> 16;
  out[2] = i >>> 8;
  out[3] = i;
  return out;
}

const BLOCK = 'pc.ram';

function* mainHead(totalBytes: number): Generator<Uint8Array> {
  const recs: MainRecordInput[] = [
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'configuration', machine: 'pc-q35-10.0', subsections: [] },
    { kind: 'section', sectionType: 'start', sectionId: 2, idstr: 'ram', instanceId: 0, versionId: 4 },
    { kind: 'ram-mem-size', sectionId: 2, flags: 4, totalBytes },
    { kind: 'ram-block', sectionId: 2, block: { name: BLOCK, usedLength: totalBytes } },
  ];
  for (const r of recs) yield* encodeMainRecordParts(r);
}

function* mainTail(): Generator<Uint8Array> {
  for (const r of [
    { kind: 'ram-eos', sectionId: 2, flags: 0x10 },
    { kind: 'footer', sectionId: 2 },
    { kind: 'eof' },
  ] as MainRecordInput[])
    yield* encodeMainRecordParts(r);
}

/** A precopy main stream carrying every page of a `sizeMiB` guest as PAGE records. */
async function makeMainStream(path: string): Promise<void> {
  const pages = (sizeMiB * MiB) / PAGE;
  await writeFileFrom(path, function* () {
    yield* mainHead(pages * PAGE);
    const page = new Uint8Array(PAGE);
    for (let i = 0; i < pages; i++) {
      yield* encodeMainRecordParts({ kind: 'ram-page', sectionId: 2, flags: i === 0 ? 0x08 : 0x28, block: BLOCK, pageOffset: i * PAGE, data: Uint8Array.from(pageContent(i, page)) });
    }
    yield* mainTail();
  });
}

const CHANNELS = 4;
const PAGES_PER_PACKET = 128;
const PACKETS_PER_ROUND = 64;

function syncPacket(num: number): MultifdRamPacketRecord {
  return { kind: 'multifd-packet', offset: 0, length: 0, layout: '10.0', magic: 0x11223344, version: 1, flags: 1, sync: true, compression: 'none', pagesAlloc: 0, normalPages: 0, zeroPages: 0, nextPacketSize: 0, packetNum: num, block: '', normalOffsets: [], zeroOffsets: [], raw: undefined as never, payload: new Uint8Array(0) };
}

/**
 * A multifd migration as a capture directory: main (MEM_SIZE, FLUSH per
 * round, EOS) and four channels whose packets carry every page once, split
 * in rounds of PACKETS_PER_ROUND packets per channel, each round ended by
 * a SYNC on every channel and a FLUSH on main.
 */
async function makeMultifdCapture(dir: string, compression: 'none' | 'zlib'): Promise<{ pageBytes: number }> {
  const pages = (sizeMiB * MiB) / PAGE;
  const packets = pages / PAGES_PER_PACKET;
  const perChannel = Math.ceil(packets / CHANNELS);
  const rounds = Math.ceil(perChannel / PACKETS_PER_ROUND);
  mkdirSync(dir, { recursive: true });
  await writeFileFrom(join(dir, 'conn00.src2dst.bin'), function* () {
    yield* mainHead(pages * PAGE);
    for (let r = 0; r <= rounds; r++) {
      yield* encodeMainRecordParts({ kind: 'ram-multifd-flush', sectionId: 2, flags: 0x200 });
      yield* encodeMainRecordParts({ kind: 'ram-eos', sectionId: 2, flags: 0x10 });
      yield* encodeMainRecordParts({ kind: 'footer', sectionId: 2 });
      yield* encodeMainRecordParts({ kind: 'section', sectionType: r === rounds ? 'end' : 'part', sectionId: 2, idstr: 'ram' });
    }
    yield* mainTail();
  });
  let packetNum = 0;
  for (let c = 0; c < CHANNELS; c++) {
    const deflate = compression === 'zlib' ? createDeflate({ level: 1 }) : undefined;
    const path = join(dir, `conn${String(c + 1).padStart(2, '0')}.src2dst.bin`);
    const ws = createWriteStream(path, { highWaterMark: 4 * MiB });
    const write = async (parts: Uint8Array[]): Promise<void> => {
      for (const p of parts) if (!ws.write(p)) await once(ws, 'drain');
    };
    const init = new Uint8Array(64);
    init.set([0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1]);
    init[24] = c;
    await write([init]);
    await write(encodeMultifdRecordParts(syncPacket(packetNum++)));
    const page = new Uint8Array(PAGE);
    for (let k = 0; k < perChannel; k++) {
      const pkt = k * CHANNELS + c;
      if (pkt < packets) {
        const data = new Uint8Array(PAGES_PER_PACKET * PAGE);
        const offsets: number[] = [];
        for (let i = 0; i < PAGES_PER_PACKET; i++) {
          const p = pkt * PAGES_PER_PACKET + i;
          data.set(pageContent(p, page), i * PAGE);
          offsets.push(p * PAGE);
        }
        let payload: Uint8Array = data;
        if (deflate) {
          // One deflate stream per channel, flushed at every packet, as QEMU does.
          const chunks: Buffer[] = [];
          const onData = (b: Buffer): void => {
            chunks.push(b);
          };
          deflate.on('data', onData);
          deflate.write(data);
          await new Promise<void>((res) => deflate.flush(zc.Z_SYNC_FLUSH, () => res()));
          deflate.off('data', onData);
          payload = Buffer.concat(chunks);
        }
        const rec: MultifdRamPacketRecord = { ...syncPacket(packetNum++), block: BLOCK, flags: compression === 'zlib' ? 2 : 0, sync: false, compression, pagesAlloc: 128, normalPages: PAGES_PER_PACKET, normalOffsets: offsets, nextPacketSize: payload.length, payload };
        await write(encodeMultifdRecordParts(rec));
      }
      if ((k + 1) % PACKETS_PER_ROUND === 0 || k === perChannel - 1) await write(encodeMultifdRecordParts(syncPacket(packetNum++)));
    }
    ws.end();
    await once(ws, 'finish');
  }
  return { pageBytes: pages * PAGE };
}

async function decodeMainFile(path: string): Promise<number> {
  const dec = new MainStreamDecoder();
  let n = 0;
  let pages = 0;
  const sink = (r: { kind: string }): void => {
    if (r.kind === 'ram-page') pages++;
  };
  for await (const c of createReadStream(path, { highWaterMark: CHUNK })) {
    n += (c as Buffer).length;
    dec.write(c as Buffer, sink);
  }
  dec.end(sink);
  if (pages !== (sizeMiB * MiB) / PAGE) throw new Error(`decoded ${pages} pages`);
  return n;
}

async function decodeMultifdFile(path: string): Promise<number> {
  const dec = new MultifdDecoder();
  const pages = new MultifdPageDecoder();
  let n = 0;
  const sink = (r: { kind: string }): void => {
    if (r.kind === 'multifd-packet') pages.pages(r as MultifdRamPacketRecord);
  };
  for await (const c of createReadStream(path, { highWaterMark: CHUNK })) {
    n += (c as Buffer).length;
    dec.write(c as Buffer, sink);
  }
  dec.end(sink);
  return n;
}

/**
 * pcap input: the multifd capture's five streams as one libpcap file (what tcpdump would hold),
 * read by `dump` directly (one pass over the file per channel) and by `import` + `dump` of the
 * imported directory, each against `dump` of the capture directory itself.
 */
async function benchPcap(dir: string): Promise<void> {
  const files = [0, 1, 2, 3, 4].map((c) => join(dir, `conn0${c}.src2dst.bin`));
  const pcap = join(WORK, `multifd-none-${sizeMiB}.pcap`);
  if (!existsSync(pcap)) await writePcapOf(files, pcap);
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const discard: Output = { line: () => {}, err: () => {}, flush: () => {} };
  const run = async (...argv: string[]): Promise<number> => {
    const code = await cli(argv, discard);
    if (code !== 0) throw new Error(`migwire ${argv.join(' ')} exited ${code}`);
    return bytes;
  };
  await plainRead(pcap);
  const base = await measure(() => run('dump', dir, '--no-summary'));
  record('dump (main + 4 multifd, none), capture directory', base);
  record('dump of the same migration as a pcap', await measure(() => run('dump', pcap, '--no-summary')), base, 'one pass over the file per channel', 'dump of the directory');
  const imported = join(WORK, 'pcap-imported');
  rmSync(imported, { recursive: true, force: true });
  const r = await measure(async () => {
    await run('import', pcap, '--out', imported, '--quiet');
    return run('dump', imported, '--no-summary');
  });
  record('import + dump of the pcap', r, base, 'one pass writes the directory', 'dump of the directory');
  rmSync(imported, { recursive: true, force: true });
}

function want(name: string): boolean {
  return !only || only.has(name);
}

// ---------------------------------------------------------------------------------------------
// record: loopback throughput through a proxy, as `migwire record` sits between QEMU endpoints.

type ChannelManager = typeof channelManager;
const loadChannelManager = async (): Promise<ChannelManager> => channelManager;

const LOOPBACK = '127.0.0.1';
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
interface Peers {
  sinkPort: number;
  synthetic(port: number, perChannel: number): Promise<number>;
  files(port: number, files: string[]): Promise<number>;
  received(): Promise<number>;
  close(): void;
}

/** a's throughput as a percentage of b's. */
const pct = (a: { bytes: number; seconds: number }, b: { bytes: number; seconds: number }): string =>
  `${Math.round((100 * (a.bytes / a.seconds)) / (b.bytes / b.seconds))}%`;

async function startPeers(): Promise<Peers> {
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
    synthetic: (port, perChannel) => ask({ op: 'synthetic', port, perChannel, channels: PROXY_CHANNELS }),
    files: (port, files) => ask({ op: 'files', port, files }),
    received: () => ask({ op: 'received' }),
    close: () => child.kill(),
  };
}

async function benchRecord(): Promise<void> {
  const { RecordingProxy } = await loadChannelManager();
  const perChannel = Math.floor((sizeMiB * MiB) / PROXY_CHANNELS);
  const total = perChannel * PROXY_CHANNELS;
  const peers = await startPeers();
  const mfDir = join(WORK, `multifd-none-${sizeMiB}`);
  if (!existsSync(join(mfDir, 'conn04.src2dst.bin'))) await makeMultifdCapture(mfDir, 'none');
  const files = [1, 2, 3, 4].map((c) => join(mfDir, `conn0${c}.src2dst.bin`));
  type M = { bytes: number; seconds: number; peakRss: number };
  const checked = async (before: number, r: M, want: number): Promise<M> => {
    const got = (await peers.received()) - before;
    if (got !== r.bytes || r.bytes !== want) throw new Error(`sink got ${got} bytes of ${want}`);
    return r;
  };

  // Each variant once per round, rounds interleaved, best of three: this machine's loopback
  // throughput drifts by tens of percent from one second to the next.
  const pipeVariant = async (): Promise<M> => {
    const pipe = await startPipeProxy(peers.sinkPort);
    const before = await peers.received();
    const r = await measure(() => peers.synthetic(pipe.port, perChannel));
    await closeServer(pipe.server);
    return checked(before, r, total);
  };
  const proxyVariant = async (outDir: string | undefined, send: 'synthetic' | 'files', check: boolean): Promise<M> => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    const live = check ? new LiveChecker() : undefined;
    const p = new RecordingProxy({
      listen: { host: LOOPBACK, port: 0 },
      target: { host: LOOPBACK, port: peers.sinkPort },
      ...(outDir ? { outDir } : {}),
      ...(live ? { onChunk: (c: number, d: 'src2dst' | 'dst2src', chunk: Buffer, t: number) => live.onChunk(c, d, chunk, t) } : {}),
    });
    if (live) p.on('role', (id: number, role: string, mf?: number) => live.onRole(id, role, mf));
    const port = (await p.start()).port;
    const before = await peers.received();
    // The transfer (what a migration waits for) is measured; closing the recording (flush,
    // sha256 of the files, index.json) happens after the migration and is not.
    const r = await measure(async () => {
      return send === 'synthetic' ? peers.synthetic(port, perChannel) : peers.files(port, files);
    });
    const index = await p.close(1000);
    if (!index.all_recorded_equals_forwarded) throw new Error('recording is not equal to what was forwarded');
    if (live?.violations.length) throw new Error(`${live.violations.length} live violations on a valid stream`);
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    return checked(before, r, send === 'synthetic' ? total : files.reduce((n, f) => n + statSync(f).size, 0));
  };
  // The other bound on recording: how fast this process can write the same bytes to files on
  // the capture's file system (four files at once, 256 KiB writes, as the recorder gets them).
  const diskVariant = async (): Promise<M> => {
    const dir = join(WORK, 'record-disk-baseline');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const block = Buffer.alloc(CHUNK, 0x5a);
    const r = await measure(async () => {
      const one = async (i: number): Promise<number> => {
        const out = createWriteStream(join(dir, `conn0${i}.bin`), { highWaterMark: MiB });
        for (let n = 0; n < perChannel; n += CHUNK) if (!out.write(block.subarray(0, Math.min(CHUNK, perChannel - n)))) await once(out, 'drain');
        out.end();
        await once(out, 'close');
        return perChannel;
      };
      return (await Promise.all([1, 2, 3, 4].map(one))).reduce((a, b) => a + b, 0);
    });
    rmSync(dir, { recursive: true, force: true });
    return r;
  };
  const capture = join(WORK, 'record-capture');
  const variants: Array<[string, () => Promise<M>]> = [
    ['pipe', pipeVariant],
    ['write', diskVariant],
    ['blind', () => proxyVariant(undefined, 'synthetic', false)],
    ['disk', () => proxyVariant(capture, 'synthetic', false)],
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
  record('proxy (4 multifd files): record to disk', best.get('files')!, bound, `best of 3; ${pct(best.get('files')!, base)} of the blind pipe`, boundName);
  record('proxy (4 multifd files): record --check', best.get('check')!, best.get('files')!, 'best of 3; live rules decode every channel', 'record without --check');
  peers.close();
}

// replay: a capture (main + 4 multifd channels) sent to the sink in the peers process, against
// plain file-to-socket pipes from this process to the same sink.
async function benchReplay(): Promise<void> {
  const dir = join(WORK, `multifd-none-${sizeMiB}`);
  if (!existsSync(join(dir, 'conn04.src2dst.bin'))) await makeMultifdCapture(dir, 'none');
  const files = [0, 1, 2, 3, 4].map((c) => join(dir, `conn0${c}.src2dst.bin`));
  for (const f of files) await plainRead(f);
  const peers = await startPeers();
  try {
    let base: { bytes: number; seconds: number; peakRss: number } | undefined;
    let fast: typeof base;
    for (let i = 0; i < 3; i++) {
      const b = await measure(async () => (await Promise.all(files.map((f) => sendFile(peers.sinkPort, f)))).reduce((a, n) => a + n, 0));
      if (!base || b.seconds < base.seconds) base = b;
      const r = await measure(async () => {
        const rep = await replayCapture(dir, { target: { host: LOOPBACK, port: peers.sinkPort }, timing: 'fast', idleTimeoutMs: 1000 });
        if (!rep.ok) throw new Error(`replay failed: ${rep.reason}`);
        return rep.connections.reduce((a, c) => a + c.bytesSent, 0);
      });
      if (!fast || r.seconds < fast.seconds) fast = r;
    }
    record('replay: 5 files piped to sockets', base!, undefined, 'best of 3; main + 4 multifd channels, concurrent; sink in its own process');
    record('replay --timing fast (main + 4 multifd)', fast!, base, 'best of 3; includes waiting for the sink to close', 'plain pipes');
  } finally {
    peers.close();
  }
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  if (!asJson) console.log(`migwire bench: ${sizeMiB} MiB guest streams in ${WORK} (Node ${process.version})`);

  if (want('main')) {
    const path = join(WORK, `main-${sizeMiB}.bin`);
    if (!existsSync(path)) await makeMainStream(path);
    await plainRead(path); // warm the page cache
    const base = await measure(() => plainRead(path));
    record('plain read (main stream file)', base);
    const r = await measure(() => decodeMainFile(path));
    record('main-stream decode (PAGE records)', r, base);
  }

  if (want('report')) {
    // `migwire report`'s analysis: every record of the stream, per-page state in typed arrays.
    const path = join(WORK, `main-${sizeMiB}.bin`);
    if (!existsSync(path)) await makeMainStream(path);
    await plainRead(path);
    const base = await measure(() => plainRead(path));
    const r = await measure(async () => {
      const a = await analyzeCapture(path);
      const pages = a.rounds.reduce((n, x) => n + x.pages, 0);
      if (pages !== (sizeMiB * MiB) / PAGE) throw new Error(`report counted ${pages} pages`);
      return statSync(path).size;
    });
    record('report analysis (main stream)', r, base);
  }

  if (want('transcode')) {
    // The same stream re-emitted by `migwire transcode` into sinks that discard: decode, route,
    // batch, encode (and for multifd, build packets) against decode alone, in the same run.
    const path = join(WORK, `main-${sizeMiB}.bin`);
    if (!existsSync(path)) await makeMainStream(path);
    await plainRead(path);
    const size = statSync(path).size;
    await decodeMainFile(path); // warm the decoder's code paths, as transcode's run will be
    const decode = await measure(() => decodeMainFile(path));
    record('main-stream decode (transcode baseline)', decode);
    const runs = [
      { channels: 4, compression: 'none' as const, name: 'transcode main -> main + 4 multifd (none), discarded' },
      { channels: 0, compression: 'none' as const, name: 'transcode main -> main (re-encoded), discarded' },
      { channels: 4, compression: 'zstd' as const, name: 'transcode main -> main + 4 multifd (zstd), discarded' },
      { channels: 4, compression: 'zlib' as const, name: 'transcode main -> main + 4 multifd (zlib), discarded' },
    ];
    for (const { channels, compression, name } of runs) {
      const r = await measure(async () => {
        const rep = await runTranscode(path, { target: undefined, channels, compression });
        const moved = channels ? rep.counts.multifd.reduce((n, m) => n + m.normalPages, 0) : rep.counts.main.pages;
        if (moved !== (sizeMiB * MiB) / PAGE) throw new Error(`transcode moved ${moved} pages`);
        return size;
      });
      record(name, r, decode, undefined, 'decode only');
    }
  }

  for (const compression of ['none', 'zlib'] as const) {
    const name = `multifd-${compression}`;
    if (!want(name)) continue;
    const dir = join(WORK, `${name}-${sizeMiB}`);
    if (!existsSync(join(dir, 'conn04.src2dst.bin'))) await makeMultifdCapture(dir, compression);
    const files = [1, 2, 3, 4].map((c) => join(dir, `conn0${c}.src2dst.bin`));
    for (const f of files) await plainRead(f);
    const base = await measure(async () => {
      let n = 0;
      for (const f of files) n += await plainRead(f);
      return n;
    });
    record(`plain read (4 multifd channels, ${compression})`, base);
    const r = await measure(async () => {
      let n = 0;
      for (const f of files) n += await decodeMultifdFile(f);
      return compression === 'none' ? n : sizeMiB * MiB;
    });
    // Compressed channels are tiny for synthetic pages: the figure that matters is page data out.
    if (compression === 'none') record('multifd decode + pages (none)', r, base);
    else record('multifd decode + pages (zlib), page data out', r, undefined, `${(base.bytes / MiB).toFixed(1)} MiB of zlib stream in`);
    if (compression === 'none' && want('extract')) {
      const out = join(WORK, 'extract-out');
      rmSync(out, { recursive: true, force: true });
      const e = await measure(async () => {
        const rep = await runExtract(dir, { outDir: out, blocks: [], quiet: true });
        if (rep.errors.length) throw new Error(rep.errors.join('; '));
        return files.reduce((n, f) => n + statSync(f).size, statSync(join(dir, 'conn00.src2dst.bin')).size);
      });
      record('extract (main + 4 multifd, none) to image', e, base, 'writes a 1:1 image file');
      rmSync(out, { recursive: true, force: true });
    }
    if (compression === 'none' && want('pcap')) await benchPcap(dir);
  }

  if (want('multifd-zstd')) {
    // Real QEMU zstd payloads: the real capture's four channels (gzipped in fixtures/), decoded over and over.
    const capDir = join(ROOT, 'fixtures', '10.0-c-multifd4-zstd');
    if (existsSync(capDir)) {
      const chans = [1, 2, 3, 4].map((c) => gunzipSync(readFileSync(join(capDir, `conn0${c}.src2dst.bin.gz`))));
      const passBytes = chans.reduce((n, b) => n + b.length, 0);
      const passPages = chans.reduce((n, b) => n + decodeMultifdChannel(b).records.reduce((k, r) => k + (r.kind === 'multifd-packet' ? r.normalPages : 0), 0), 0) * PAGE;
      const passes = Math.max(1, Math.ceil((sizeMiB * MiB) / passPages));
      const base = await measure(async () => {
        let n = 0;
        for (let p = 0; p < passes; p++) for (const b of chans) n += Buffer.from(b).length;
        return n;
      });
      const r = await measure(async () => {
        let n = 0;
        for (let p = 0; p < passes; p++) {
          for (const b of chans) {
            const dec = new MultifdDecoder();
            const pages = new MultifdPageDecoder();
            dec.write(b, (x) => {
              if (x.kind === 'multifd-packet') pages.pages(x);
            });
            dec.end(() => {});
            n += b.length;
          }
        }
        return n;
      });
      record('multifd decode + pages (zstd, real QEMU data), page data out', { ...r, bytes: passes * passPages }, undefined, `real QEMU 10.0 zstd channels replayed ${passes} times, ${(passBytes / MiB).toFixed(1)} MiB of zstd stream per pass`);
      void base;
    }
  }
  if (want('record')) await benchRecord();
  if (want('replay')) await benchReplay();
  if (asJson) console.log(JSON.stringify({ sizeMiB, node: process.version, figures }, null, 2));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
