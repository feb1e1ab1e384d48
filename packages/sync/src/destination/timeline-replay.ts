import type { FlushMode } from '../flush-mode.js';
import { SyncBarrier } from './sync-barrier.js';

/** What one recorded event means to the barrier. */
export type TimelineStep =
  | { source: 'main'; barrier: boolean; offset?: number }
  | { source: 'multifd'; channel: number; sync: boolean; packetNum?: number; offset?: number };

/** One barrier as the destination would have passed it. */
export interface BarrierPassage {
  index: number;
  /** Index (in the input) of main's FLUSH/EOS event. */
  mainEvent: number;
  /** Channels that had not delivered their SYNC when main got there (main was held for them). */
  waitedFor: readonly number[];
  /** Index (in the input) of the event whose arrival released the barrier. */
  releasedAtEvent: number;
}

export interface TimelineReplay<E> {
  /** The events in the order a QEMU destination would process them. */
  order: E[];
  barriers: BarrierPassage[];
  /** Set when the recording ended with main or a channel still held (e.g. a SYNC never came). */
  stalled: { missingChannels: number[]; unprocessed: number } | undefined;
}

export interface TimelineOptions {
  channels: number;
  mode: FlushMode;
}

/**
 * Replays a recorded timeline (events in arrival order, across all channels) through SyncBarrier:
 * events behind a held main or a held channel wait in their own queue, as they would in the
 * socket buffer, and run once the barrier releases. Deterministic: no timers, no promises.
 */
export function replaySyncTimeline<E>(
  events: readonly E[],
  classify: (event: E) => TimelineStep,
  options: TimelineOptions,
): TimelineReplay<E> {
  const barrier = new SyncBarrier(options);
  const mainQueue: Array<{ event: E; step: TimelineStep & { source: 'main' }; index: number }> = [];
  const channelQueues = Array.from({ length: options.channels }, () => [] as Array<{ event: E; step: TimelineStep & { source: 'multifd' }; index: number }>);
  const order: E[] = [];
  const barriers: BarrierPassage[] = [];
  let held: { mainEvent: number; waitedFor: number[] } | undefined;

  const tryRelease = (atEvent: number): void => {
    if (held === undefined || !barrier.canProceed()) return;
    const { index } = barrier.release();
    barriers.push({ index, mainEvent: held.mainEvent, waitedFor: held.waitedFor, releasedAtEvent: atEvent });
    held = undefined;
  };

  const drain = (atEvent: number): void => {
    let progressed = true;
    while (progressed) {
      progressed = false;
      const head = mainQueue[0];
      if (head !== undefined && !barrier.mainWaiting) {
        mainQueue.shift();
        order.push(head.event);
        if (head.step.barrier) {
          barrier.mainArrived(head.step.offset);
          held = { mainEvent: head.index, waitedFor: barrier.missingChannels() };
          tryRelease(atEvent);
        }
        progressed = true;
      }
      channelQueues.forEach((queue, channel) => {
        const next = queue[0];
        if (next === undefined || barrier.channelHeld(channel)) return;
        queue.shift();
        order.push(next.event);
        if (next.step.sync) {
          const arrival = { channel, ...pick(next.step) };
          barrier.syncArrived(arrival);
          tryRelease(atEvent);
        }
        progressed = true;
      });
    }
  };

  events.forEach((event, index) => {
    const step = classify(event);
    if (step.source === 'main') mainQueue.push({ event, step, index });
    else {
      const queue = channelQueues[step.channel];
      if (queue === undefined) barrier.syncArrived({ channel: step.channel }); // throws UNKNOWN_CHANNEL
      queue?.push({ event, step, index });
    }
    drain(index);
  });

  const unprocessed = mainQueue.length + channelQueues.reduce((n, q) => n + q.length, 0);
  const stalled = barrier.mainWaiting || unprocessed > 0 ? { missingChannels: barrier.missingChannels(), unprocessed } : undefined;
  return { order, barriers, stalled };
}

function pick(step: { packetNum?: number; offset?: number }): { packetNum?: number; offset?: number } {
  const out: { packetNum?: number; offset?: number } = {};
  if (step.packetNum !== undefined) out.packetNum = step.packetNum;
  if (step.offset !== undefined) out.offset = step.offset;
  return out;
}
