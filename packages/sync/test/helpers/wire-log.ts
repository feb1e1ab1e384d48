import type { MainChannelSink, MultifdChannelSink, OutgoingPagesPacket, OutgoingSyncPacket } from '../../src/index.js';

/** Everything the coordinator wrote, in one list, in call order. */
export type WireEvent =
  | { kind: 'pages'; packet: OutgoingPagesPacket }
  | { kind: 'sync'; packet: OutgoingSyncPacket }
  | { kind: 'flush' };

export function wireLog(channels: number): { log: WireEvent[]; sinks: MultifdChannelSink[]; main: MainChannelSink } {
  const log: WireEvent[] = [];
  const sinks = Array.from({ length: channels }, (): MultifdChannelSink => ({
    sendPages: (packet) => log.push({ kind: 'pages', packet }),
    sendSync: (packet) => log.push({ kind: 'sync', packet }),
  }));
  return { log, sinks, main: { writeMultifdFlush: () => log.push({ kind: 'flush' }) } };
}

/** Compact rendering for assertions: "P0:pc.ram" (pages on channel 0), "S1" (SYNC on 1), "F" (FLUSH). */
export function render(log: readonly WireEvent[]): string[] {
  return log.map((e) => (e.kind === 'flush' ? 'F' : e.kind === 'sync' ? `S${e.packet.channel}` : `P${e.packet.channel}:${e.packet.block}`));
}
