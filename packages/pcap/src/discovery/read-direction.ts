/** Pass 2: one direction of one connection, in stream order, re-reading the capture. */
import type { ByteSource } from '../source.js';
import { type Side, type TcpEventOptions, tcpEvents } from '../tcp/connections.js';
import type { StreamEvent } from '../tcp/events.js';
import type { CaptureIndex, ChannelConnection, Direction } from './types.js';
import type { StreamExtents } from './extents.js';

/** Which tcpEvents side carries `direction` of `connection`. */
export function directionSide(connection: Pick<ChannelConnection, 'srcSide'>, direction: Direction): Side {
  return (direction === 'src2dst') === (connection.srcSide === 'a') ? 'a' : 'b';
}

/** Where `direction` of `connection` lies in the file, when indexCapture noted it (and it can be read by position). */
export function streamExtents(index: CaptureIndex, connection: Pick<ChannelConnection, 'index' | 'srcSide'>, direction: Direction): StreamExtents | undefined {
  const e = index.extents?.get(`${connection.index}${directionSide(connection, direction)}`);
  return e && !e.unusable ? e : undefined;
}

/**
 * The stream events (data with packet times, holes, conflicts, syn/fin/rst) of `direction` of
 * `connection` (from indexCapture over the same file). Only that connection is reassembled;
 * memory stays bounded by the reassembly limits whatever the file size.
 */
export async function* readDirection(
  source: ByteSource,
  connection: Pick<ChannelConnection, 'index' | 'srcSide'>,
  direction: Direction,
  options: Omit<TcpEventOptions, 'select'> = {},
): AsyncGenerator<StreamEvent> {
  const side = directionSide(connection, direction);
  for await (const e of tcpEvents(source, { ...options, select: (i) => i === connection.index })) {
    if (e.kind === 'stream' && e.connection === connection.index && e.from === side) yield e.event;
  }
}
