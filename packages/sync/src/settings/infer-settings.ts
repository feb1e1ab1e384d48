/**
 * The destination's migration settings as the capture itself shows them, for inputs that do not
 * say how their destination was set up (a tcpdump capture, a recording without meta.json):
 * which capabilities and parameters a fresh destination needs to load the same stream, what in
 * the capture showed each, and what the capture cannot tell. Reads main up to its RAM block list,
 * each multifd channel up to its first packet with pages, and the return path.
 */
import { channelBytes, streamStartOptions, type Capture, type CaptureChannel } from '@migwire/capture';
import { CapabilityEvidence, type Evidence } from './capability-evidence.js';
import { decoderFor, isCodecError, type CodecRecord, type MainRecord, type MultifdRecord, type ReturnPathRecord } from '@migwire/stream-codec';

export interface InferredSetting {
  /** Capability or parameter name, as QMP spells it. */
  setting: string;
  value: boolean | number | string;
  /** What in the capture showed it. */
  from: string;
}

export interface DestinationInference {
  caps: Record<string, boolean>;
  params: Record<string, unknown>;
  /** Every entry of caps and params, with what showed it. */
  inferred: InferredSetting[];
  /** Settings the capture cannot tell, and why. */
  unknown: Array<{ setting: string; why: string }>;
  /** Machine type from the CONFIGURATION record (e.g. "pc-q35-10.0"). */
  machine?: string;
  /** RAM blocks of the MEM_SIZE list: name and used length in bytes (pc.ram is the guest's RAM). */
  ramBlocks: Array<{ name: string; bytes: number }>;
}

const STOP = Symbol('stop');

/** Decode `ch` until `visit` returns true (or the channel ends or stops decoding). */
async function scan<R extends CodecRecord>(ch: CaptureChannel, visit: (r: R) => boolean | void): Promise<void> {
  const dec = decoderFor(ch.role as 'main', { channel: ch.name, skipPagePayloads: true, omitPayloads: true, ...streamStartOptions(ch) });
  const sink = (r: CodecRecord): void => {
    if (visit(r as R)) throw STOP;
  };
  const it = channelBytes(ch)[Symbol.asyncIterator]();
  try {
    for (;;) {
      const n = await it.next();
      if (n.done) {
        dec.end(sink);
        return;
      }
      dec.write(n.value, sink);
    }
  } catch (e) {
    if (e !== STOP && !isCodecError(e)) throw e;
  } finally {
    await it.return?.();
  }
}

const at = (e: Evidence): string => `${e.channel} at offset ${e.offset}`;

export async function inferDestinationSettings(capture: Capture): Promise<DestinationInference> {
  const out: DestinationInference = { caps: {}, params: {}, inferred: [], unknown: [], ramBlocks: [] };
  const set = (kind: 'caps' | 'params', setting: string, value: boolean | number | string, from: string): void => {
    (out[kind] as Record<string, unknown>)[setting] = value;
    out.inferred.push({ setting, value, from });
  };
  const src = capture.channels.filter((c) => c.direction === 'src2dst');
  const main = src.find((c) => c.role === 'main');
  const returnPath = capture.channels.find((c) => c.role === 'return-path');
  const seen = new CapabilityEvidence();
  for (const ch of capture.channels) seen.channel(ch);

  if (main) {
    let inBlockList = false;
    await scan<MainRecord>(main, (r) => {
      seen.observe(main, r);
      if (r.kind === 'configuration') out.machine = r.machine;
      else if (r.kind === 'ram-mem-size') inBlockList = true;
      else if (r.kind === 'ram-block') out.ramBlocks.push({ name: r.block.name, bytes: r.block.usedLength });
      // QEMU sends OPEN_RETURN_PATH and POSTCOPY_ADVISE before its setup, so before the RAM block list.
      else if (inBlockList) return true;
      return false;
    });
  }

  const multifd = src.filter((c) => c.role === 'multifd');
  if (multifd.length) {
    const n = seen.multifdChannels.length;
    set('caps', 'multifd', true, `${n} multifd connection(s)`);
    set('params', 'multifd-channels', n, `${n} multifd connection(s)`);
    for (const ch of multifd) {
      await scan<MultifdRecord>(ch, (r) => {
        seen.observe(ch, r);
        return seen.multifdCompression !== undefined;
      });
      if (seen.multifdCompression) break;
    }
    const compression = seen.multifdCompression;
    if (compression) {
      const from = `the flags of the first multifd packet with pages (${at(compression.at)})`;
      if (compression.method !== 'none') set('params', 'multifd-compression', compression.method, from);
      else out.inferred.push({ setting: 'multifd-compression', value: 'none', from });
    } else out.unknown.push({ setting: 'multifd-compression', why: 'no multifd packet carries pages (none assumed)' });
  }

  const advise = seen.postcopyAdvise;
  const preempt = seen.preemptChannel;
  if (advise) set('caps', 'postcopy-ram', true, `POSTCOPY_ADVISE with RAM arguments on ${at(advise)}`);
  if (seen.dirtyBitmaps) set('caps', 'dirty-bitmaps', true, `a dirty-bitmap section or a POSTCOPY_ADVISE without RAM arguments on ${at(seen.dirtyBitmaps)}`);
  if (preempt) {
    if (!advise) set('caps', 'postcopy-ram', true, `a postcopy-preempt connection (${preempt})`);
    set('caps', 'postcopy-preempt', true, `a postcopy-preempt connection (${preempt})`);
  }

  if (returnPath && (returnPath.size ?? 1) > 0) {
    await scan<ReturnPathRecord>(returnPath, (r) => {
      seen.observe(returnPath, r);
      return seen.switchoverAck !== undefined;
    });
  }
  const ack = seen.switchoverAck ? at(seen.switchoverAck) : undefined;
  const rpShown = returnPath && (returnPath.size ?? 1) > 0 ? `${returnPath.name} carries ${returnPath.size ?? 'some'} bytes` : seen.openReturnPath ? `OPEN_RETURN_PATH on ${at(seen.openReturnPath)}` : undefined;
  // Postcopy opens the return path by itself; the capability is needed only without it.
  if (rpShown && !out.caps['postcopy-ram']) set('caps', 'return-path', true, rpShown);
  if (ack) set('caps', 'switchover-ack', true, `SWITCHOVER_ACK on ${ack}`);
  else if (out.caps['return-path']) {
    out.unknown.push({ setting: 'switchover-ack', why: 'no SWITCHOVER_ACK on the return path: off, or on with a machine type that sends one only per device needing it (11.1+), which the stream cannot tell apart' });
  }
  out.unknown.push({ setting: 'mapped-ram', why: 'a file format (pages at fixed offsets) that QEMU reads only through file:, never from a socket' });
  if (!main) out.unknown.push({ setting: 'postcopy-ram', why: 'no main connection in the capture' });
  return out;
}
