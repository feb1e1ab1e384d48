/**
 * A packet capture's connection times on the clock of its arrivals() (seconds since the chosen
 * migration's first packet). Type-only imports: the pcap reader stays unloaded for other inputs.
 */
import type { PcapSelection } from './pcap-capture.js';

/** When connection `conn` of the chosen migration was opened and how its source's side ended, on the clock of `arrivals()`. */
export interface PcapConnectionTimes {
  /** Its first packet (the SYN when captured), seconds since the migration's first packet. */
  openedAt: number | null;
  /** 'abort': the source's side ended with a RST and no FIN; 'eof' otherwise. */
  sendEnd: 'eof' | 'abort';
}

export function pcapConnectionTimes(selection: PcapSelection, conn: number): PcapConnectionTimes {
  const c = selection.migration.connections[conn];
  if (!c) return { openedAt: null, sendEnd: 'eof' };
  const first = [c.src2dst.firstTime, c.dst2src.firstTime].filter((t) => !Number.isNaN(t));
  return {
    openedAt: first.length ? Math.min(...first) - selection.migration.start : null,
    sendEnd: c.src2dst.rstSeen && !c.src2dst.finSeen ? 'abort' : 'eof',
  };
}
