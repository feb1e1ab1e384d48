/** Runs tcpEvents over a capture and gathers each direction's bytes and non-data events. */
import { type ByteSource, type CaptureEvent, type StreamEvent, tcpEvents, type TcpEventOptions } from '../../src/index.js';
import { concat } from './frames.js';

export interface Collected {
  /** `${connection}${side}` -> reassembled bytes (holes left out). */
  bytes: Map<string, Uint8Array>;
  /** `${connection}${side}` -> non-data events. */
  events: Map<string, StreamEvent[]>;
  all: CaptureEvent[];
}

export async function collect(source: ByteSource, options: TcpEventOptions = {}): Promise<Collected> {
  const parts = new Map<string, Uint8Array[]>();
  const events = new Map<string, StreamEvent[]>();
  const all: CaptureEvent[] = [];
  for await (const e of tcpEvents(source, options)) {
    all.push(e);
    if (e.kind !== 'stream') continue;
    const key = `${e.connection}${e.from}`;
    if (e.event.kind === 'data') {
      const list = parts.get(key) ?? [];
      list.push(e.event.bytes.slice());
      parts.set(key, list);
    } else {
      const list = events.get(key) ?? [];
      list.push(e.event);
      events.set(key, list);
    }
  }
  const bytes = new Map([...parts].map(([k, v]) => [k, concat(v)]));
  return { bytes, events, all };
}

/** One record per packet, one microsecond apart. */
export function records(packets: Uint8Array[], wrap: (ip: Uint8Array) => Uint8Array = (x) => x) {
  return packets.map((p, i) => ({ sec: 1_700_000_000, frac: i, data: wrap(p) }));
}
