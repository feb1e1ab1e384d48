/**
 * The destination's migration settings as the capture itself shows them, for inputs that do not
 * say how their destination was set up (a tcpdump capture, a recording without meta.json):
 * which capabilities and parameters a fresh destination needs to load the same stream, what in
 * the capture showed each, and what the capture cannot tell. Reads main up to its RAM block list,
 * each multifd channel up to its first packet with pages, and the return path.
 */
import { channelBytes, streamStartOptions, type Capture, type CaptureChannel } from '@migwire/capture';
import { decoderFor, isCodecError, packetCompression, type CodecRecord, type MainRecord, type MultifdRecord, type ReturnPathRecord } from '@migwire/stream-codec';

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

const at = (ch: CaptureChannel, offset: number): string => `${ch.name} at offset ${offset}`;

export async function inferDestinationSettings(capture: Capture): Promise<DestinationInference> {
  const out: DestinationInference = { caps: {}, params: {}, inferred: [], unknown: [], ramBlocks: [] };
  const set = (kind: 'caps' | 'params', setting: string, value: boolean | number | string, from: string): void => {
    (out[kind] as Record<string, unknown>)[setting] = value;
    out.inferred.push({ setting, value, from });
  };
  const src = capture.channels.filter((c) => c.direction === 'src2dst');
  const main = src.find((c) => c.role === 'main');
  const returnPath = capture.channels.find((c) => c.role === 'return-path');

  let openReturnPath: string | undefined;
  let advise: string | undefined;
  if (main) {
    let inBlockList = false;
    await scan<MainRecord>(main, (r) => {
      if (r.kind === 'configuration') out.machine = r.machine;
      else if (r.kind === 'command' && r.name === 'OPEN_RETURN_PATH') openReturnPath ??= at(main, r.offset);
      else if (r.kind === 'command' && r.name === 'POSTCOPY_ADVISE') advise ??= at(main, r.offset);
      else if (r.kind === 'ram-mem-size') inBlockList = true;
      else if (r.kind === 'ram-block') out.ramBlocks.push({ name: r.block.name, bytes: r.block.usedLength });
      // QEMU sends OPEN_RETURN_PATH and POSTCOPY_ADVISE before its setup, so before the RAM block list.
      else if (inBlockList) return true;
      return false;
    });
  }

  const multifd = src.filter((c) => c.role === 'multifd');
  if (multifd.length) {
    set('caps', 'multifd', true, `${multifd.length} multifd connection(s)`);
    set('params', 'multifd-channels', multifd.length, `${multifd.length} multifd connection(s)`);
    let compression: { method: string; from: string } | undefined;
    for (const ch of multifd) {
      await scan<MultifdRecord>(ch, (r) => {
        const method = r.kind === 'multifd-packet' ? packetCompression(r) : undefined;
        if (!method) return false;
        compression = { method, from: `the flags of the first multifd packet with pages (${at(ch, r.offset)})` };
        return true;
      });
      if (compression) break;
    }
    if (compression) {
      if (compression.method !== 'none') set('params', 'multifd-compression', compression.method, compression.from);
      else out.inferred.push({ setting: 'multifd-compression', value: 'none', from: compression.from });
    } else out.unknown.push({ setting: 'multifd-compression', why: 'no multifd packet carries pages (none assumed)' });
  }

  const preempt = src.find((c) => c.role === 'postcopy-preempt');
  if (advise) set('caps', 'postcopy-ram', true, `POSTCOPY_ADVISE on ${advise}`);
  if (preempt) {
    if (!advise) set('caps', 'postcopy-ram', true, `a postcopy-preempt connection (${preempt.name})`);
    set('caps', 'postcopy-preempt', true, `a postcopy-preempt connection (${preempt.name})`);
  }

  let ack: string | undefined;
  if (returnPath && (returnPath.size ?? 1) > 0) {
    await scan<ReturnPathRecord>(returnPath, (r) => {
      if (r.kind === 'rp-message' && r.args.message === 'SWITCHOVER_ACK') ack = at(returnPath, r.offset);
      return ack !== undefined;
    });
  }
  const rpShown = returnPath && (returnPath.size ?? 1) > 0 ? `${returnPath.name} carries ${returnPath.size ?? 'some'} bytes` : openReturnPath ? `OPEN_RETURN_PATH on ${openReturnPath}` : undefined;
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
