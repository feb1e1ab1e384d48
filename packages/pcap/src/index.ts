/**
 * @migwire/pcap: pcap/pcapng captures as TCP byte streams and QEMU migrations.
 *
 * Pass 1 `indexCapture` finds connections, names channels and groups migrations (and, on a plain
 * file, notes where each direction's bytes lie: `readExtents` reads them back by position); pass 2
 * `readDirection` re-reads the file for one direction's bytes. All stream in bounded memory.
 */
export { type ByteSource, type OpenSource, fileSource, SeekableFile } from './source.js';
export { type CapturedPacket, type FormatItem, type FormatNotice, PcapFormatError } from './formats/packet.js';
export { readPackets } from './formats/read-packets.js';
export { looksLikePcap, captureFormat, type CaptureFormat } from './formats/magic.js';
export { LinkType } from './link/link-layer.js';
export type { DirectionStats, HoleReason, StreamEvent } from './tcp/events.js';
export type { ReassemblyOptions } from './tcp/direction.js';
export {
  type CaptureEvent,
  type Endpoint,
  type Side,
  type SkipCount,
  type SkipReason,
  type TcpConnection,
  type TcpEventOptions,
  tcpEvents,
} from './tcp/connections.js';
export { type IndexOptions, indexCapture } from './discovery/index-capture.js';
export { directionSide, readDirection, streamExtents } from './discovery/read-direction.js';
export { MAX_EXTENT_RUNS, readExtents, type ReadRun, RunReader, SkippedBytes, StreamExtents } from './discovery/extents.js';
export { MAX_IGNORED_DESCRIBED, MAX_MIGRATION_CONNECTIONS } from './discovery/group-migrations.js';
export type {
  CaptureIndex,
  CaptureProblem,
  ChannelConnection,
  Direction,
  DirectionSummary,
  Migration,
  StreamProblem,
} from './discovery/types.js';
