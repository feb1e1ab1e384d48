/** The analysis of one recorded migration: what `migwire report --json` prints and the HTML shows. */

/** How the timeline is measured: seconds on the capture's clock (chunks.csv), or MiB into the main stream (files). */
export type TimelineUnit = 's' | 'MiB';

export interface ChannelSummary {
  name: string;
  role: string;
  direction: 'src2dst' | 'dst2src';
  bytes: number;
  records: number;
  /** Set when the channel was not decoded (TLS, empty, unknown). */
  skipped?: string;
  /** The decoder's error, when the channel did not decode to its end. */
  error?: { message: string; offset?: number };
  /**
   * The capture missed the channel's start (a packet capture without its SYN): decoding began at
   * the first record boundary found, `skipped` captured bytes in; its offsets count from there.
   */
  midStream?: { skipped: number };
}

export interface CapabilitiesSeen {
  /** Number of multifd channels (0: none). */
  multifd: number;
  /** Multifd compression seen in packet flags ('none' when multifd without it), or undefined. */
  multifdCompression?: string;
  /** XBZRLE records on main. */
  xbzrle: boolean;
  /** Legacy `compress` records (before QEMU 9.1). */
  legacyCompress: boolean;
  postcopy: boolean;
  preempt: boolean;
  /** Block dirty bitmaps migrated (a "dirty-bitmap" section, or an empty POSTCOPY_ADVISE). */
  dirtyBitmaps: boolean;
  switchoverAck: boolean;
  returnPath: boolean;
  tls: boolean;
  /** configuration/capabilities subsection of the stream (e.g. x-ignore-shared, mapped-ram). */
  configuration: string[];
}

export interface Headline {
  /** QEMU release read off the machine type (pc-q35-10.0 -> 10.0), or from QMP. */
  release?: string;
  machine?: string;
  capabilities: CapabilitiesSeen;
  channels: ChannelSummary[];
  /** First to last recorded byte, seconds (only with arrival timing). */
  durationSeconds?: number;
  pageSize: number;
  /** Whether the stream ended (EOF at the top level). */
  completed: boolean;
}

export type MarkerKind = 'round' | 'switchover-start' | 'postcopy-listen' | 'postcopy-run' | 'end' | 'return-path';

export interface TimelineMarker {
  kind: MarkerKind;
  /** Position on the timeline (seconds or MiB). */
  x: number;
  label: string;
  /** Where the record that marks it is, when it is one record. */
  channel?: string;
  offset?: number;
}

export interface Timeline {
  unit: TimelineUnit;
  /** Left edge of each bin. */
  x: number[];
  binWidth: number;
  /** Bytes per second (unit 's') or bytes per bin (unit 'MiB'), per channel, one value per bin. */
  series: Array<{ channel: string; values: number[] }>;
  markers: TimelineMarker[];
  /** Return-path markers left out to keep the file small (counts are in returnPath). */
  markersOmitted: number;
}

export interface RoundStats {
  round: number;
  /** Page records (normal, zero, XBZRLE, compressed) in this round. */
  pages: number;
  zeroPages: number;
  xbzrlePages: number;
  /**
   * Pages also sent in an earlier round (dirtied again). Absent when not known: the main channel
   * was captured mid-stream (no RAM block list, no earlier rounds).
   */
  resentPages?: number;
  /** The round began before the capture did (main captured mid-stream): its figures cover only what was captured. */
  partial?: true;
  /** Bytes of the records that carried this round's pages. */
  bytes: number;
  /** Pages per channel name. */
  perChannel: Record<string, number>;
  start?: number;
  end?: number;
  /** Wire bytes per second over the round (needs timing). */
  bandwidth?: number;
  /** Bytes the guest dirtied per second during the round: the next round's pages over this round's time. */
  dirtyRate?: number;
}

export type ModelAction = 'continue' | 'query-exact' | 'switchover' | 'hold';
export type QemuAction = 'continue' | 'switchover' | 'postcopy' | 'unknown';

export interface SwitchoverStep {
  /** The round whose end (dirty sync) this decision is taken at. */
  round: number;
  /** Bytes still to send after the sync: the next round's pages (measured). */
  pendingBytes: number;
  bandwidth?: number;
  downtimeLimitMs: number;
  thresholdBytes?: number;
  /** The model's decision, the exact figure asked for when the estimate was under the threshold. */
  decision: ModelAction;
  /** 'query-exact -> switchover' style path, for the reader. */
  path: string;
  holdReason?: string;
  qemu: QemuAction;
  agrees: boolean;
}

export interface SwitchoverReplay {
  downtimeLimitMs: number;
  /** Where the downtime limit came from: QMP (set or queried), or QEMU's default assumed. */
  downtimeLimitSource: 'qmp' | 'assumed';
  steps: SwitchoverStep[];
  /** What QEMU reported at the end (QMP), when a transcript was given. */
  qemuOutcome?: { status: string; downtimeMs?: number; totalTimeMs?: number; dirtySyncCount?: number; expectedDowntimeMs?: number };
  explanation: string;
}

export interface PostcopyRequest {
  /** Time (or MiB) the request arrived at the source. */
  x: number;
  block: string;
  start: number;
  pages: number;
  /** Time until the page arrived after the request, ms; undefined when it never did (or no timing). */
  latencyMs?: number;
  via?: 'main' | 'postcopy-preempt';
  /** The page had already arrived before the request was made. */
  arrivedBefore: boolean;
  offset: number;
}

export interface PostcopyStats {
  listenAt?: number;
  runAt?: number;
  /** REQ_PAGES / REQ_PAGES_ID messages on the return path. */
  requestCount: number;
  requestedPages: number;
  /** Pages sent after POSTCOPY_LISTEN on main and on the preempt channel. */
  pagesOnMain: number;
  pagesOnPreempt: number;
  servedCount: number;
  arrivedBeforeRequest: number;
  latencyMs?: { min: number; median: number; p90: number; max: number };
  /** Histogram of latencies: bin upper edges (ms) and counts. */
  histogram: { edgesMs: number[]; counts: number[] };
  /** Up to a few thousand requests, in order. */
  requests: PostcopyRequest[];
  requestsOmitted: number;
}

export interface HotBlock {
  block: string;
  pages: number;
  sends: number;
  /** Pages sent more than once. */
  resent: number;
}

export interface HotRange {
  block: string;
  /** Byte offsets within the block. */
  start: number;
  end: number;
  sends: number;
  /** Sends per page in the range. */
  perPage: number;
}

export interface HotPages {
  blocks: HotBlock[];
  /** Ranges of `rangeBytes` sent most often. */
  ranges: HotRange[];
  rangeBytes: number;
  /** Pages sent in more than one round (what `check` calls re-sent). Absent when not known (see `unknown`). */
  resentPages?: number;
  /** Why there are no per-page figures (the main channel was captured mid-stream: no RAM block list). */
  unknown?: string;
}

export interface ReturnPathSummary {
  counts: Record<string, number>;
}

/** A rule result from `migwire check`, passed in by the CLI (packages do not run the CLI's checker). */
export interface VerdictRule {
  id: string;
  status: 'pass' | 'fail' | 'n/a';
  /** Not checked: the capture missed the start of a channel the rule needs. */
  notChecked?: true;
  detail: string;
  channel?: string;
  offset?: number;
}

export interface Verdict {
  rules: VerdictRule[];
}

export interface ReportAnalysis {
  format: 'migwire-report/1';
  source: { path: string; kind: string; qmp?: string };
  headline: Headline;
  timeline: Timeline;
  rounds: RoundStats[];
  switchover: SwitchoverReplay;
  postcopy?: PostcopyStats;
  hotPages: HotPages;
  returnPath: ReturnPathSummary;
  verdict?: Verdict;
  /**
   * What a reader must know about the figures, one sentence each: channels the capture caught
   * mid-stream (their start, and every figure that needs it, is not in the capture).
   */
  notices?: string[];
}
