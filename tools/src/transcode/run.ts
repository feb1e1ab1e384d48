/**
 * `migwire transcode` end to end: probe the recording, plan the output layout, open the
 * destination's channels (main first, then multifd, each connected before the next), stream the
 * recording through the Transcoder, read the return path, and close the channels the way a QEMU
 * source does (main ends, the destination closes, then the multifd channels end).
 */
import type { Socket } from 'node:net';
import { MigrationDialer, type DialTarget } from '@migwire/channel-manager';
import {
  allowsMultifdWithPostcopy,
  compareReleases,
  machineTypeRelease,
  multifdLayoutFor,
  nearestSupportedRelease,
  parseRelease,
  ReturnPathDecoder,
  type MultifdLayout,
  type ReturnPathRecord,
  type SupportedRelease,
  type SwitchoverAckMode,
} from '@migwire/stream-codec';
import { DestinationOrderReader, flushModeFor, multifdChannelShortfall, type FlushMode } from '@migwire/sync';
import { InputError } from '../input-error.js';
import { incompleteStream, notAMigrationStream, openCapture, requireStreamStart, verifyChannels } from '@migwire/capture';
import { prepareCompression, type CodecError, type PayloadCompression } from '@migwire/stream-codec';
import { badReturnPath, TranscodeError } from './errors.js';
import { machineVersion, probeRecording, type RecordingProbe } from './probe.js';
import { preemptPages } from './preempt-pages.js';
import { SwitchoverWait } from './switchover-wait.js';
import { destinationSettings } from '../replay/plan.js';
import { DiscardSink, SocketSink, type ByteSink } from './sinks.js';
import { Transcoder, type TranscodeCounts, type TranscodePlan } from './transcoder.js';

export type QemuRelease = SupportedRelease;

export interface TranscodeOptions {
  /** Destination address; undefined: discard the bytes (benchmarks, dry runs). */
  target: DialTarget | undefined;
  channels: number;
  compression?: PayloadCompression;
  zeroPages?: 'multifd' | 'legacy';
  /** The destination's QEMU; default: the recording's (its machine type's release and multifd layout). */
  qemu?: QemuRelease;
  /** Open a postcopy-preempt channel after main and the multifd channels; postcopy pages recorded on one go there. */
  preempt?: boolean;
  /** switchover-ack on at the destination (default: the recording's meta.json caps). */
  switchoverAck?: boolean;
  /** The destination's switchover-ack protocol, when forced (switchover-ack-legacy); default: by machine type. */
  switchoverAckMode?: SwitchoverAckMode;
  /**
   * How long the destination may go without reading while a channel is full, and how long it may
   * take to close the main channel after the end (ms, default 60000).
   */
  timeoutMs?: number;
  /** Which migration of a pcap/pcapng holding several. */
  migration?: number;
  /** Without a target: where the bytes go (default: discarded). One multifd sink per channel. */
  output?: { main: ByteSink; multifd: ByteSink[]; preempt?: ByteSink };
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
  /** switchover-ack as transcode honoured it: protocol, why, whether it waited, ACKs seen. */
  switchoverAck: { mode: SwitchoverAckMode; because: string; waited: boolean; acks: number } | undefined;
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
  const qemu: QemuRelease = o.qemu ?? inferRelease(probe);
  // An 8.0+ destination keeps the per-section flush for machine types <= 7.2 (its compat property).
  const oldMachine = mv !== undefined && (mv[0] < 7 || (mv[0] === 7 && mv[1] <= 2));
  const flushMode: FlushMode = flushModeFor({ qemuMajor: parseRelease(qemu)[0], flushAfterEachSection: oldMachine });
  const layout = multifdLayoutFor(qemu);
  const zeroPages = o.zeroPages ?? (layout === '7.2' ? 'legacy' : 'multifd');
  if (!Number.isInteger(o.channels) || o.channels < 0 || o.channels > 255) throw new TranscodeError('BAD_OPTION', `--channels must be 0..255, got ${o.channels}`);
  if (layout === '7.2' && zeroPages === 'multifd' && o.channels > 0) throw new TranscodeError('BAD_OPTION', 'QEMU 7.2 multifd packets carry no zero pages: use --zero-pages legacy');
  const plan: TranscodePlan = {
    channels: o.channels,
    compression: o.compression ?? 'none',
    zeroPages,
    layout,
    flushMode,
    multifdWithPostcopy: allowsMultifdWithPostcopy(qemu),
    uuid: probe.multifdUuid ?? probe.uuid ?? new Uint8Array(16),
  };
  return { qemu, plan };
}

/**
 * The destination release a recording was made for: the first tested release with its machine
 * type (pc-q35-11.0 -> 11.1), at least what its multifd layout needs (a 10.0 source on machine
 * pc-q35-7.2 writes 9.0+ packets), else 10.0.
 */
export function inferRelease(probe: RecordingProbe): QemuRelease {
  const m = machineTypeRelease(probe.machine ?? '');
  const byMachine = m !== undefined ? nearestSupportedRelease(m) : undefined;
  const byLayout: QemuRelease | undefined = probe.multifdLayout === undefined ? undefined : probe.multifdLayout === '7.2' ? '7.2' : '10.0';
  const found = [byMachine, byLayout].filter((r): r is QemuRelease => r !== undefined).sort(compareReleases);
  return found[found.length - 1] ?? '10.0';
}

class ReturnPathReader {
  readonly report: ReturnPathReport = { messages: 0, pongs: [], shut: undefined, other: [], error: undefined };
  readonly #dec = new ReturnPathDecoder({ channel: 'return-path' });

  constructor(socket: Socket, onMessage: (r: ReturnPathRecord) => void, onError: (message: string) => void) {
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
        onError(this.report.error);
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
  // The start of the recording is read twice (probed, then sent): bytes that can be read only once cannot be.
  if (input.kind === 'stdin') throw new InputError(`transcode reads the start of its input twice and cannot take ${path === '-' ? 'standard input' : `a pipe or device (${path})`}: save the stream to a file first`);
  // Before any connection is made: a destination cannot load a stream from mid-way.
  requireStreamStart(input, 'cannot transcode: a destination QEMU needs the migration from its first byte');
  if (!input.channels.some((c) => c.role === 'main')) throw new TranscodeError('NO_MAIN_CHANNEL', `${path} has no main channel`);
  const unreadable = input.channels.find((c) => c.role === 'tls' || (c.direction === 'src2dst' && notAMigrationStream(input, c)));
  if (unreadable) throw new TranscodeError('UNSUPPORTED_CHANNEL', `a ${unreadable.role} channel cannot be transcoded`, { channel: unreadable.name });
  const fewer = multifdChannelShortfall(input);
  if (fewer) throw new TranscodeError('MISSING_CHANNELS', `${fewer}: the pages sent on the others are not in it`);
  // What the destination sent is not sent again, but index.json's promise about it is held all the same.
  await verifyChannels(input.channels.filter((c) => c.direction === 'dst2src'));
  const probe = await probeRecording(input);
  const { qemu, plan } = planFor(o, probe);
  await prepareCompression(plan.compression);
  // The transcoder keeps no event's bytes (sinks copy, queued pages sit in page slots): read buffers are reused.
  const reader = new DestinationOrderReader(input, { recycleBuffers: true });
  const recordedPreempt = input.channels.find((c) => c.role === 'postcopy-preempt' && c.direction === 'src2dst');
  const ack = new SwitchoverWait({
    enabled: o.switchoverAck ?? recordedCaps(path)['switchover-ack'] === true,
    machine: probe.machine,
    release: qemu,
    ...(o.switchoverAckMode ? { mode: o.switchoverAckMode } : {}),
    timeoutMs: o.timeoutMs ?? 60_000,
  });

  let mainSocket: Socket | undefined;
  let multifdSockets: Socket[] = [];
  let preemptSocket: Socket | undefined;
  let main: ByteSink;
  let multifd: ByteSink[];
  let preempt: ByteSink | undefined;
  let mainSink: SocketSink | undefined;
  let rp: ReturnPathReader | undefined;
  if (o.target) {
    const dialer = new MigrationDialer(o.target);
    // A destination may reset a channel while the others are still being opened: the error is kept
    // for that channel's sink (it names the channel), never left to surface bare.
    const early = new Map<Socket, Error>();
    const watched = (sk: Socket): Socket => sk.on('error', (e) => void (early.has(sk) || early.set(sk, e)));
    try {
      mainSocket = watched(await dialer.openMain());
      multifdSockets = o.channels > 0 ? (await dialer.openMultifd(o.channels)).map(watched) : [];
      // Opened after main and every multifd channel: with postcopy-ram the destination tells them by order.
      if (o.preempt) preemptSocket = watched(await dialer.openPreempt());
    } catch (e) {
      mainSocket?.destroy();
      for (const s of multifdSockets) s.destroy();
      throw new TranscodeError('CONNECT_FAILED', `cannot connect to ${o.target.host}:${o.target.port}: ${(e as Error).message}`);
    }
    const stallMs = o.timeoutMs ?? 60_000;
    main = mainSink = new SocketSink('main', mainSocket, stallMs, early.get(mainSocket));
    multifd = multifdSockets.map((s, i) => new SocketSink(`multifd ${i}`, s, stallMs, early.get(s)));
    if (preemptSocket) {
      preempt = new SocketSink('postcopy-preempt', preemptSocket, stallMs, early.get(preemptSocket));
      preemptSocket.resume();
    }
    const describeRp = (r: ReturnPathRecord): string =>
      `return path: ${r.kind === 'rp-message' ? r.name : r.kind}${r.kind === 'rp-message' && 'value' in r.args ? ` ${r.args.value}` : ''}${r.kind === 'rp-message' && r.args.message === 'SHUT' ? ` status ${r.args.status}` : ''}`;
    rp = new ReturnPathReader(
      mainSocket,
      (r) => {
        if (r.kind === 'rp-message' && r.args.message === 'SWITCHOVER_ACK') ack.ackReceived();
        note?.(describeRp(r));
      },
      (message) => ack.returnPathFailed(message),
    );
    // Multifd channels carry nothing back; reading keeps a peer's close visible.
    for (const s of multifdSockets) s.resume();
  } else {
    main = o.output?.main ?? new DiscardSink('main');
    multifd = o.output?.multifd ?? Array.from({ length: o.channels }, (_, i) => new DiscardSink(`multifd ${i}`));
    preempt = o.output?.preempt ?? (o.preempt ? new DiscardSink('postcopy-preempt') : undefined);
  }

  let destinationClosed = false;
  let incomplete: CodecError | undefined;
  let transcoder: Transcoder;
  try {
    transcoder = new Transcoder(plan, main, multifd, preempt, {
      returnPathOpened: () => ack.returnPathOpened(),
      beforeSwitchover: () => ack.beforeSwitchover(),
      ...(recordedPreempt ? { preemptPages: () => preemptPages(recordedPreempt, () => reader.ramBlocks) } : {}),
    });
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
    // The recording's main stream must reach QEMU_VM_EOF: a cut one is sent as far as it goes (the
    // destination sees it end), and then the transcode fails, whatever the destination did with it.
    if (!transcoder.mainEnded) {
      const last = transcoder.lastMain;
      incomplete = incompleteStream(input.channels.find((c) => c.role === 'main')!, last ? last.offset + last.length : 0, last);
    }
    main.end();
    if (mainSocket) {
      // A reset is not a close: the destination failed (QEMU resets when it gives up).
      destinationClosed = (await closed(mainSocket, o.timeoutMs ?? 60_000)) && mainSink?.error === undefined;
      for (const s of multifd) s.end();
      preempt?.end();
      await Promise.all([...multifdSockets, ...(preemptSocket ? [preemptSocket] : [])].map((s) => closed(s, 5000)));
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
    preemptSocket?.destroy();
  }
  if (incomplete) throw incomplete;
  // Bytes back that are no return path: not a QEMU destination, whatever it did with the stream.
  if (rp?.report.error) throw badReturnPath(rp.report.error);
  transcoder.syncByteCounts();
  const recorded = reader.recordedMultifd();
  const { uuid: _uuid, ...shown } = plan;
  return {
    plan: { ...shown, qemu, machine: probe.machine },
    recorded: { channels: recorded.channels, layout: recorded.layout, compression: recorded.compression, barriers: reader.rounds },
    counts: transcoder.counts,
    returnPath: rp && transcoder.counts.usedReturnPath ? rp.report : rp && rp.report.messages ? rp.report : undefined,
    switchoverAck: ack.enabled ? { mode: ack.mode, because: ack.because, waited: ack.waited, acks: ack.acks } : undefined,
    destinationClosed,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Capabilities the recording's meta.json says its destination had ({} when it says nothing). */
function recordedCaps(path: string): Record<string, boolean> {
  return destinationSettings(path)?.caps ?? {};
}
