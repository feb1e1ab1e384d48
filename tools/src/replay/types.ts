/** The public shape of a replay: its options and the report it returns. */
import type { ConnectionOptions } from 'node:tls';
import type { DestinationInference } from '@migwire/sync';

export type ReplayTiming = 'fast' | 'recorded';

export interface ReplayProgress {
  /** Seconds since the replay started. */
  t: number;
  connections: Array<{ id: number; name: string; sent: number; total: number; received: number; open: boolean }>;
}

export interface ReplayOptions {
  /** Which migration of a pcap/pcapng holding several. */
  migration?: number;
  /** The destination QEMU's `migrate-incoming` address. */
  target: { host: string; port: number };
  /** `fast`: as fast as the destination takes it; `recorded`: every chunk at its recorded time (chunks.csv, or a packet capture's packet times). Default: recorded for postcopy captures, fast otherwise. */
  timing?: ReplayTiming;
  /** Recorded time is divided by this (2 = twice as fast); implies timing `recorded`. Default 1. */
  speed?: number;
  /** The destination's QMP unix socket: watch `query-migrate` until completed/failed and report QEMU's error. */
  qmpSocket?: string;
  /** Speak TLS toward the destination (a recording whose TLS `migwire record --tls` terminated). */
  tls?: ConnectionOptions;
  /** Write what was sent and what came back as a capture directory here. */
  outDir?: string;
  /** --out into a folder that is not empty (files of the same name replaced, never through a link). */
  force?: boolean;
  /** Without QMP: stop once everything is sent and nothing moved for this long (ms). Default 5000. */
  idleTimeoutMs?: number;
  /** While bytes wait to be sent: fail when the destination has taken none for this long (default 60 s, as transcode). */
  stallTimeoutMs?: number;
  /** Give up after this long (ms). Default 300000. */
  timeoutMs?: number;
  /** With QMP: poll interval for query-migrate (ms). Default 50. */
  pollMs?: number;
  /** Called about every progressMs (default 1000) and once at the end. */
  onProgress?: (p: ReplayProgress) => void;
  progressMs?: number;
}

export interface ReturnPathMessageSummary {
  /** Byte offset in its direction's stream. */
  offset: number;
  /** e.g. `PONG value=1`, `REQ_PAGES_ID pc.ram start=0x1000 length=4096`, `SHUT status=0`. */
  text: string;
}

export interface ReturnPathComparison {
  recordedMessages: number;
  receivedMessages: number;
  /** Same messages, in the same order (page requests included). */
  same: boolean;
  /** The first message that differs (index in message order), or where one side ended early. */
  firstDivergence: { index: number; recorded: ReturnPathMessageSummary | null; received: ReturnPathMessageSummary | null } | null;
  /** Messages per name on each side. */
  recordedCounts: Record<string, number>;
  receivedCounts: Record<string, number>;
  /** A decode error on either side (the received one is QEMU's own bytes: should never happen). */
  recordedError: string | null;
  receivedError: string | null;
  /** Status of the destination's SHUT message, when it sent one (0 = it loaded the stream). */
  shutStatus: number | null;
}

export type ConnectionEnd = 'half-closed' | 'closed' | 'reset' | 'not-connected' | 'open';

export interface ReplayConnectionReport {
  id: number;
  /** main, multifd 2, postcopy-preempt, ... */
  name: string;
  role: string;
  /** Bytes this connection had to send (the recorded src2dst size). */
  bytesToSend: number;
  /** Bytes the kernel took from us (write completed). */
  bytesSent: number;
  /** Bytes handed to the socket that the destination never took (it stopped reading). */
  bytesStuck: number;
  /** Bytes the destination sent back. */
  bytesReceived: number;
  /** Bytes the destination sent back in the recording. */
  recordedBytesReceived: number;
  /** Seconds since the replay started. */
  connectedAt: number | null;
  sendEndedAt: number | null;
  /** How our sending side ended. */
  end: ConnectionEnd;
  /** The destination closed its side (EOF) at this time. */
  peerClosedAt: number | null;
  error: string | null;
  /** Return path (main connection) compared with the recorded one. */
  returnPath?: ReturnPathComparison;
}

export interface DestinationStatus {
  /** Last `query-migrate` status: completed, failed, active, postcopy-active, ... */
  status: string | null;
  errorDesc: string | null;
  /** Status changes seen while polling. */
  statuses: Array<{ t: number; status: string }>;
  /** QMP events received during the replay. */
  events: Array<{ t: number; event: string; data?: Record<string, unknown> }>;
}

export interface ReplayFailure {
  /** Seconds since the replay started. */
  t: number;
  /** What was noticed first: QEMU's status, a reset, the destination closing early. */
  reason: string;
  /** Byte offset sent on each connection at that moment. */
  sentAt: Array<{ id: number; name: string; sent: number; total: number }>;
}

export type ReplayOutcome =
  /** QMP: the destination reports completed. */
  | 'completed'
  /** No QMP: every byte was sent and the destination took it (no reset, SHUT 0 when it sent one). */
  | 'accepted'
  | 'failed';

export interface ReplayReport {
  capture: string;
  target: string;
  timing: ReplayTiming;
  speed: number;
  outcome: ReplayOutcome;
  ok: boolean;
  reason: string | null;
  /** Wall time of the replay, seconds. */
  duration: number;
  connections: ReplayConnectionReport[];
  destination: DestinationStatus | null;
  failure: ReplayFailure | null;
  outDir: string | null;
  /** Things that make this replay less faithful than the recording (fast timing on postcopy-preempt, ...). */
  warnings: string[];
  /** A capture without meta.json: the destination settings read from the capture, what showed each, what it cannot tell. */
  settings?: Pick<DestinationInference, 'inferred' | 'unknown'>;
}
