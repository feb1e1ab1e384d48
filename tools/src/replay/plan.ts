/**
 * What a replay sends: the recorded connections in accept order, each with the channel of its
 * source-to-destination bytes, the recorded return bytes, and the recorded times (index.json, or
 * a packet capture's packet times).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pcapConnectionTimes, readCaptureIndex, readCaptureMeta, type Capture, type CaptureChannel } from '@migwire/capture';
import { recordedDeviceArgs } from '@migwire/qemu';
import type { ChannelRole } from '@migwire/stream-codec';
import { DataError, InputError } from '../input-error.js';

export interface PlannedConnection {
  id: number;
  name: string;
  role: ChannelRole;
  /** The channel of its src2dst bytes: what is sent (its own byte source, see ReplaySources). */
  source: CaptureChannel;
  /** Bytes to send when known (plain files, packet captures); undefined for .gz. */
  size: number | undefined;
  /** The recorded dst2src channel, if any. */
  recordedReturn: CaptureChannel | undefined;
  recordedReturnSize: number;
  /** Recorded times, seconds on the capture's clock. */
  acceptedAt: number | null;
  sendEndedAt: number | null;
  /** How the source's side ended in the recording: eof = half-close; anything else = close without one. */
  sendEnd: 'eof' | 'abort';
}

export interface ReplayPlan {
  path: string;
  connections: PlannedConnection[];
  /** chunks.csv, when the capture has one. */
  chunksFile: string | undefined;
  /** A packet capture: recorded times are its packet timestamps (Capture.arrivals). */
  packetTimes: boolean;
  /** Capabilities and parameters from meta.json, or inferred from the capture (what the destination needs set). */
  caps: Record<string, boolean>;
  params: Record<string, unknown>;
  postcopy: boolean;
  /** Recorded by `migwire record --tls`: plaintext of channels that were TLS on the wire. */
  tlsTerminated: boolean;
}

interface IndexConnection {
  id: number;
  accepted_at?: number;
  connect_error?: string | null;
  forced_close?: boolean;
  directions?: Record<string, { end_reason?: string | null; ended_at?: number | null; first_data_at?: number | null }>;
}

/** Capabilities and parameters the destination used in the recording (meta.json), if recorded. */
export function destinationSettings(captureDir: string): { caps: Record<string, boolean>; params: Record<string, unknown> } | null {
  const meta = readCaptureMeta(captureDir);
  if (!meta) return null;
  const caps: Record<string, boolean> = { ...(meta.caps ?? {}) };
  const params: Record<string, unknown> = { ...(meta.params ?? {}), ...(meta.dst_params ?? {}) };
  // The setup calls are what really reached the destination.
  for (const s of meta.setup ?? []) {
    if (s.side !== 'dst' || s.ok === false || !s.arguments) continue;
    if (s.command === 'migrate-set-capabilities') {
      const list = s.arguments['capabilities'];
      if (Array.isArray(list)) {
        for (const c of list as unknown[]) {
          const one = c as { capability?: unknown; state?: unknown } | null;
          if (typeof one?.capability === 'string' && typeof one.state === 'boolean') caps[one.capability] = one.state;
        }
      } else for (const [k, v] of Object.entries(s.arguments)) if (typeof v === 'boolean') caps[k] = v;
    } else if (s.command === 'migrate-set-parameters') {
      Object.assign(params, s.arguments);
    }
  }
  return { caps, params };
}

/** The recording's destination machine, RAM size and QEMU build, as far as meta.json says. */
export function recordedDestination(captureDir: string): { machine?: string; memMiB?: number; version?: string; devices?: string[] } {
  const meta = readCaptureMeta(captureDir);
  if (!meta) return {};
  const out: { machine?: string; memMiB?: number; version?: string; devices?: string[] } = {};
  const devices = recordedDeviceArgs(meta.qemu?.dst?.argv ?? []);
  if (devices.length) out.devices = devices;
  if (meta.machine !== undefined) out.machine = meta.machine;
  const m = meta.mem !== undefined ? /^(\d+)M$/i.exec(meta.mem) : null;
  if (meta.mem_mib !== undefined) out.memMiB = meta.mem_mib;
  else if (m) out.memMiB = Number(m[1]);
  if (meta.qemu?.dst?.build !== undefined) out.version = meta.qemu.dst.build;
  return out;
}

/**
 * Whether a capture directory was recorded with TLS terminated by the proxy (its files are the
 * plaintext of TLS sessions): index.json's transport, else meta.json's `tls.terminated_by_proxy`
 * (the fixture generator's note).
 */
export function recordedTlsTerminated(captureDir: string): boolean {
  const index = readCaptureIndex(captureDir) as { transport?: unknown } | undefined;
  if (typeof index?.transport === 'string') return index.transport === 'tls-terminated';
  const tls = readCaptureMeta(captureDir)?.tls;
  return typeof tls === 'object' && tls.terminated_by_proxy === true;
}

/** A planned connection the capture holds no bytes for: a replay would send nothing on it and could still look fine. */
export class NoByteSourceError extends DataError {
  override name = 'NoByteSourceError';
  constructor(readonly capture: string, readonly conn: number, detail: string) {
    super(`${capture}: connection ${conn} has no byte source (${detail}): cannot replay what was not captured`);
  }
}

/** Unpacked bytes: a .gz file's own size field is modulo 4 GiB (and wrong if cut): index.json's, checked as it is read, is taken instead. */
const sizeOf = (ch: CaptureChannel | undefined): number | undefined => (ch && !ch.path?.endsWith('.gz') ? ch.size : ch?.expect?.size);

/**
 * Build the plan of a capture directory, a packet capture or a file (one main connection).
 * `settings`: the destination's capabilities and parameters when known otherwise (replaySettings);
 * default meta.json's.
 */
export function planReplay(input: Capture, settings?: { caps: Record<string, boolean>; params: Record<string, unknown> } | null): ReplayPlan {
  if (input.kind === 'stdin') throw new InputError(`replay needs a capture directory or a stream file, not ${input.path === '-' ? 'standard input' : `a pipe or device (${input.path})`}`);
  const src = input.channels.filter((c) => c.direction === 'src2dst');
  const back = new Map(input.channels.filter((c) => c.direction === 'dst2src').map((c) => [c.conn, c]));
  const index = new Map<number, IndexConnection>();
  for (const c of (input.index?.connections ?? []) as IndexConnection[]) index.set(c.id, c);
  const ids = [...new Set([...src.map((c) => c.conn), ...back.keys(), ...index.keys()])].sort((a, b) => a - b);
  const byConn = new Map<number, CaptureChannel>(src.map((c) => [c.conn, c]));
  const connections: PlannedConnection[] = [];
  for (const id of ids) {
    const ch = byConn.get(id);
    const ret = back.get(id);
    const ix = index.get(id);
    const up = ix?.directions?.['src2dst'];
    // The proxy could not reach the destination with it: the recorded destination never saw it.
    if (ix?.connect_error) continue;
    if (ch?.role === 'tls') {
      throw new InputError(`connection ${id} carries TLS recorded encrypted (passed through): its bytes belong to a TLS session that cannot be replayed; record with \`migwire record --tls DIR\` to keep the plaintext`);
    }
    if (!ch) throw new NoByteSourceError(input.path, id, ret ? 'only the destination\'s bytes were captured' : 'index.json lists it, no connection file holds its bytes');
    const pcap = input.pcap ? pcapConnectionTimes(input.pcap, id) : undefined;
    connections.push({
      id,
      name: ch.name,
      role: ch.role,
      source: ch,
      size: sizeOf(ch),
      recordedReturn: ret,
      recordedReturnSize: sizeOf(ret) ?? 0,
      acceptedAt: ix?.accepted_at ?? pcap?.openedAt ?? null,
      sendEndedAt: up?.ended_at ?? null,
      sendEnd: pcap?.sendEnd ?? (!up || up.end_reason === 'eof' || up.end_reason == null ? 'eof' : 'abort'),
    });
  }
  if (connections.length === 0) throw new InputError(`${input.path}: nothing to replay`);
  const dir = input.kind === 'capture' ? input.path : undefined;
  const chunks = dir ? join(dir, 'chunks.csv') : undefined;
  settings ??= dir ? destinationSettings(dir) : null;
  const caps = settings?.caps ?? {};
  if (caps['mapped-ram']) throw new InputError(`${input.path}: a mapped-ram stream is a file with pages at fixed offsets; QEMU reads it only through file:, not from a socket`);
  return {
    path: input.path,
    connections,
    chunksFile: chunks && existsSync(chunks) ? chunks : undefined,
    packetTimes: input.kind === 'pcap',
    caps,
    params: settings?.params ?? {},
    postcopy: caps['postcopy-ram'] === true || connections.some((c) => c.role === 'postcopy-preempt'),
    tlsTerminated: input.index?.transport === 'tls-terminated',
  };
}
