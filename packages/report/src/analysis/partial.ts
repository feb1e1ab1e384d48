/**
 * A capture that missed the start of a channel (a packet capture begun mid-migration): the figures
 * that need the stream's start are removed rather than shown as if complete, and the reader is told.
 */
import type { ChannelSummary, HotPages, RoundStats } from './types.js';

/** The main channel, when the capture missed its start. */
export function mainMidStream(channels: ChannelSummary[]): ChannelSummary | undefined {
  return channels.find((c) => c.role === 'main' && c.midStream);
}

/** One sentence per channel captured mid-stream, then what that means for the figures. */
export function midStreamNotices(channels: ChannelSummary[]): string[] {
  const out: string[] = [];
  for (const c of channels) {
    if (!c.midStream) continue;
    const from = `decoding starts at the first ${c.role === 'main' ? 'RAM record' : 'record'} found, ${c.midStream.skipped} bytes into its capture`;
    out.push(c.role === 'main'
      ? `The main channel was captured mid-stream (its SYN was not captured): ${from}; the stream's start (header, configuration, RAM block list, the rounds before) is not in the capture.`
      : `${c.name} was captured mid-stream (its SYN was not captured): ${from}.`);
  }
  if (mainMidStream(channels)) {
    out.push(
      'Every figure counts only what was captured: rounds are numbered from the first one captured, which began before the capture did (its dirty rate is not known); ' +
        're-sent and hot pages are not known (no RAM block list); release, machine and capabilities announced at the start are not known; offsets count from where decoding starts.',
    );
  }
  return out;
}

/** Removes from rounds and hot pages what a capture missing main's start cannot tell. */
export function withoutMissingStart(rounds: RoundStats[], hot: HotPages): void {
  const first = rounds[0];
  if (first) {
    first.partial = true;
    delete first.dirtyRate;
  }
  for (const r of rounds) delete r.resentPages;
  // Sends counted from mid-way would rank pages by what the capture happened to see.
  hot.blocks = [];
  hot.ranges = [];
  delete hot.resentPages;
  hot.unknown = 'not known: the main channel was captured mid-stream, so its RAM block list (sent at the start) and the pages sent before the capture began are missing';
}
