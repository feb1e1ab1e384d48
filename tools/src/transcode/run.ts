/**
 * `migwire transcode` end to end: probe the recording, plan the output layout, open the
 * destination's channels (main first, then multifd, each connected before the next), stream the
 * recording through the Transcoder, read the return path, and close the channels the way a QEMU
 * source does (main ends, the destination closes, then the multifd channels end).
 */
import type { Socket } from 'node:net';
import { MigrationDialer, type DialTarget } from '@migwire/channel-manager';
import { ReturnPathDecoder, type MultifdLayout, type ReturnPathRecord } from '@migwire/stream-codec';
import { DestinationOrderReader, flushModeFor, type FlushMode } from '@migwire/sync';
import { openCapture } from '@migwire/capture';
import { prepareCompression, type PayloadCompression } from '@migwire/stream-codec';
import { TranscodeError } from './errors.js';
import { machineVersion, probeRecording, type RecordingProbe } from './probe.js';
import { DiscardSink, SocketSink, type ByteSink } from './sinks.js';
import { Transcoder, type TranscodeCounts, type TranscodePlan } from './transcoder.js';

export type QemuRelease = '7.2' | '10.0';

export interface TranscodeOptions {
  /** Destination address; undefined: discard the bytes (benchmarks, dry runs). */
  target: DialTarget | undefined;
  channels: number;
  compression?: PayloadCompression;
  zeroPages?: 'multifd' | 'legacy';
  /** The destination's QEMU; default: the recording's (multifd layout, else machine type). */
  qemu?: QemuRelease;
  /**
   * How long the destination may go without reading while a channel is full, and how long it may
   * take to close the main channel after the end (ms, default 60000).
   */
  timeoutMs?: number;
  /** Which migration of a pcap/pcapng holding several. */
  migration?: number;
  /** Without a target: where the bytes go (default: discarded). One multifd sink per channel. */
  output?: { main: ByteSink; multifd: ByteSink[] };
}

export interface ReturnPathReport {
  messages: number;
  pongs: number[];
  shut: { status: number } | undefined;
  other: string[];
  error: string | undefined;
}

export interface TranscodeReport {
  plan: Omit<TranscodePlan, 'uuid'> & { qemu: QemuRelease; machine: string | undefined };
  recorded: { channels: number; layout: MultifdLayout | undefined; compression: string | undefined; barriers: number };
  counts: TranscodeCounts;
  returnPath: ReturnPathReport | undefined;
  /** The destination closed the main channel after the migration (it finished loading). */
  destinationClosed: boolean;
  seconds: number;
}

export interface Progress {
  read: Array<{ channel: string; bytes: number }>;
  written: Array<{ channel: string; bytes: number }>;
  rounds: number;
}

/** The destination release, its flush mode and zero-page rule, from options and the recording. */
export function planFor(o: TranscodeOptions, probe: RecordingProbe): { qemu: QemuRelease; plan: TranscodePlan } {
  const mv = machineVersion(probe.machine);
  const qemu: QemuRelease = o.qemu ?? (probe.multifdLayout ?? (mv && mv[0] < 8 ? '7.2' : '10.0'));
  // An 8.0+ destination keeps the per-section flush for machine types <= 7.2 (its compat property).
  const oldMachine = mv !== undefined && (mv[0] < 7 || (mv[0] === 7 && mv[1] <= 2));
  const flushMode: FlushMode = flushModeFor({ qemuMajor: qemu === '7.2' ? 7 : 10, flushAfterEachSection: oldMachine });
  const zeroPages = o.zeroPages ?? (qemu === '7.2' ? 'legacy' : 'multifd');
  if (!Number.isInteger(o.channels) || o.channels < 0 || o.channels > 255) throw new TranscodeError('BAD_OPTION', `--channels must be 0..255, got ${o.channels}`);
  if (qemu === '7.2' && zeroPages === 'multifd' && o.channels > 0) throw new TranscodeError('BAD_OPTION', 'QEMU 7.2 multifd packets carry no zero pages: use --zero-pages legacy');
  const plan: TranscodePlan = {
    channels: o.channels,
    compression: o.compression ?? 'none',
    zeroPages,
    layout: qemu,
    flushMode,
    uuid: probe.multifdUuid ?? probe.uuid ?? new Uint8Array(16),
  };
  return { qemu, plan };
}

class ReturnPathReader {
  readonly report: ReturnPathReport = { messages: 0, pongs: [], shut: undefined, other: [], error: undefined };
  readonly #dec = new ReturnPathDecoder({ channel: 'return-path' });

  constructor(socket: Socket, onMessage: (r: ReturnPathRecord) => void) {
    socket.on('data', (chunk: Buffer) => {
      if (this.report.error) return;
      try {
        this.#dec.write(chunk, (r) => {
          if (r.kind !== 'rp-message') return;
          this.report.messages++;
          if (r.args.message === 'PONG') this.report.pongs.push(r.args.value);
          else if (r.args.message === 'SHUT') this.report.shut = { status: r.args.status };
          else this.report.other.push(r.args.message);
          onMessage(r);
        });
      } catch (e) {
        this.report.error = (e as Error).message;
      }
    });
  }
}

function closed(socket: Socket, timeoutMs: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (v: boolean): void => {
      clearTimeout(timer);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      resolve(v);
    };
    const onEnd = (): void => finish(true);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}

export async function runTranscode(path: string, o: TranscodeOptions, progress?: (p: Progress) => void, note?: (s: string) => void): Promise<TranscodeReport> {
  const t0 = performance.now();
  const input = await openCapture(path, { migration: o.migration });
  if (!input.channels.some((c) => c.role === 'main')) throw new TranscodeError('NO_MAIN_CHANNEL', `${path} has no main channel`);
  const unreadable = input.channels.find((c) => c.role === 'tls' || c.role === 'postcopy-preempt' || (c.role === 'other' && c.direction === 'src2dst'));
  if (unreadable) throw new TranscodeError('UNSUPPORTED_CHANNEL', `a ${unreadable.role} channel cannot be transcoded`, { channel: unreadable.name });
  const probe = await probeRecording(input);
  const { qemu, plan } = planFor(o, probe);
  await prepareCompression(plan.compression);
  const reader = new DestinationOrderReader(input);

  let mainSocket: Socket | undefined;
  let multifdSockets: Socket[] = [];
  let main: ByteSink;
  let multifd: ByteSink[];
  let mainSink: SocketSink | undefined;
  let rp: ReturnPathReader | undefined;
  if (o.target) {
    const dialer = new MigrationDialer(o.target);
    try {
      mainSocket = await dialer.openMain();
      multifdSockets = o.channels > 0 ? await dialer.openMultifd(o.channels) : [];
    } catch (e) {
      mainSocket?.destroy();
      throw new TranscodeError('CONNECT_FAILED', `cannot connect to ${o.target.host}:${o.target.port}: ${(e as Error).message}`);
    }
    const stallMs = o.timeoutMs ?? 60_000;
    main = mainSink = new SocketSink('main', mainSocket, stallMs);
    multifd = multifdSockets.map((s, i) => new SocketSink(`multifd ${i}`, s, stallMs));
    rp = new ReturnPathReader(mainSocket, (r) => note?.(`return path: ${r.kind === 'rp-message' ? r.name : r.kind}${r.kind === 'rp-message' && 'value' in r.args ? ` ${r.args.value}` : ''}${r.kind === 'rp-message' && r.args.message === 'SHUT' ? ` status ${r.args.status}` : ''}`));
    // Multifd channels carry nothing back; reading keeps a peer's close visible.
    for (const s of multifdSockets) s.resume();
  } else {
    main = o.output?.main ?? new DiscardSink('main');
    multifd = o.output?.multifd ?? Array.from({ length: o.channels }, (_, i) => new DiscardSink(`multifd ${i}`));
  }

  let destinationClosed = false;
  let transcoder: Transcoder;
  try {
    transcoder = new Transcoder(plan, main, multifd);
    let last = performance.now();
    const t = transcoder;
    const tick = progress
      ? (): void => {
          const now = performance.now();
          if (now - last < 1000) return;
          last = now;
          progress({ read: reader.progress(), written: [main, ...multifd].map((s) => ({ channel: s.name, bytes: s.bytes })), rounds: t.counts.rounds });
        }
      : undefined;
    transcoder.start();
    await transcoder.run(reader.events(), tick);
    main.end();
    if (mainSocket) {
      // A reset is not a close: the destination failed (QEMU resets when it gives up).
      destinationClosed = (await closed(mainSocket, o.timeoutMs ?? 60_000)) && mainSink?.error === undefined;
      for (const s of multifd) s.end();
      await Promise.all(multifdSockets.map((s) => closed(s, 5000)));
    }
  } catch (e) {
    // A destination that stopped reading: say what each channel still held when we gave up.
    if (e instanceof TranscodeError && e.code === 'DESTINATION_STALLED' && mainSink) {
      const sinks = [mainSink, ...multifd].filter((x): x is SocketSink => x instanceof SocketSink);
      e.message += `; stuck in the send queue: ${sinks.map((x) => `${x.name} ${x.stuck} B`).join(', ')}`;
    }
    throw e;
  } finally {
    mainSocket?.destroy();
    for (const s of multifdSockets) s.destroy();
  }
  transcoder.syncByteCounts();
  const recorded = reader.recordedMultifd();
  const { uuid: _uuid, ...shown } = plan;
  return {
    plan: { ...shown, qemu, machine: probe.machine },
    recorded: { channels: recorded.channels, layout: recorded.layout, compression: recorded.compression, barriers: reader.rounds },
    counts: transcoder.counts,
    returnPath: rp && transcoder.counts.usedReturnPath ? rp.report : rp && rp.report.messages ? rp.report : undefined,
    destinationClosed,
    seconds: (performance.now() - t0) / 1000,
  };
}
