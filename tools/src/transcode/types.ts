/** What the transcoder is told (the plan, its hooks) and what it counts. */
import type { MultifdLayout, PayloadCompression } from '@migwire/stream-codec';
import type { FlushMode, FlushReason } from '@migwire/sync';

export interface TranscodePlan {
  /** Multifd channels to send on (0: a single main stream). */
  channels: number;
  compression: PayloadCompression;
  zeroPages: 'multifd' | 'legacy';
  /** Multifd packet layout of the destination's QEMU. */
  layout: MultifdLayout;
  flushMode: FlushMode;
  /** uuid in the multifd init messages (the destination compares it with its own). */
  uuid: Uint8Array;
  /** The destination takes multifd and postcopy together (QEMU 10.1+). */
  multifdWithPostcopy: boolean;
}

/** A page the recording sent on its postcopy-preempt channel (data, or a zero page with its fill byte). */
export interface PostcopyPage {
  block: string;
  offset: number;
  data: Uint8Array | undefined;
  fill: number;
}

export interface TranscodeHooks {
  /** OPEN_RETURN_PATH went out: the destination may answer on the return path from now. */
  returnPathOpened?: () => void;
  /** Awaited before the first record that needs the VM stopped (switchover-ack waits here). */
  beforeSwitchover?: () => Promise<void>;
  /** The recording's postcopy-preempt pages, sent again once the destination runs postcopy. */
  preemptPages?: () => AsyncIterable<PostcopyPage>;
}

export interface ChannelCounts {
  channel: string;
  normalPages: number;
  zeroPages: number;
  packets: number;
  syncs: number;
  bytes: number;
}

export interface MainCounts {
  pages: number;
  zeroPages: number;
  /** XBZRLE and legacy-compressed pages (passed through as they came). */
  otherPages: number;
  flushes: number;
  bytes: number;
}

export interface TranscodeCounts {
  main: MainCounts;
  multifd: ChannelCounts[];
  /** Rounds the output has: barriers issued (each closes one). */
  rounds: number;
  /** Barriers by why they were issued ('new-round': a page re-sent within its round). */
  barriers: Record<FlushReason, number>;
  /** Barriers before the last RAM section's EOS (per-round mode), so every page lands before device state. */
  finalBarriers: number;
  /** RAM sections ended early to close a round (per-section mode). */
  sectionsSplit: number;
  /** Recorded MULTIFD_FLUSH records left out (the output places its own). */
  recordedFlushesDropped: number;
  /** Pages as the recording carried them: on main (PAGE/ZERO/XBZRLE...) or in multifd packets. */
  recordedPages: { main: number; multifd: number };
  /** Main-channel records passed through (headers, sections, device state, commands...). */
  passedThrough: number;
  usedReturnPath: boolean;
  /** Postcopy: pages sent after the switch (on main, or on the preempt channel when there is one). */
  postcopy: { pagesOnMain: number; pagesOnPreempt: number; preemptBytes: number };
}

