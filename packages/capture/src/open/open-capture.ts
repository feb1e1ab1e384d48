/**
 * openCapture(path): every input the toolkit reads, as channels with roles, directions and byte
 * sources. A capture directory (connNN.*.bin[.gz] + index.json + chunks.csv), a directory with
 * stream.bin[.gz], a single stream file (plain or .gz), a tcpdump/Wireshark capture (pcap or
 * pcapng, plain or .gz, told by its magic), or "-" for standard input.
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { SkippedBytes } from '@migwire/pcap';
import { identifyChannel, type ChannelRole } from '@migwire/stream-codec';
import { looksLikePcap } from '@migwire/pcap/magic';
import { ArrivalTimes } from '../chunks/arrival-times.js';
import { CaptureError, CaptureSelectionError } from '../errors.js';
import { readCaptureIndex, type CaptureIndex } from '../index-schema/capture-index.js';
import { listedFiles } from '../index-schema/validate.js';
import { recordingShortfalls } from '../index-schema/shortfalls.js';
import { isStreamPath, plainFileAt, requirePlainFile } from '../plain-file.js';
import { CHUNKS_FILE, connectionFileName, DIRECTIONS, parseConnectionFileName, STREAM_FILES, type Direction } from '../naming.js';
import { channelSize, fileBytes, isGzipPath, readHead, streamBytes, type ExpectedContent } from './byte-source.js';
import { channelName, disambiguateNames, reverseRole } from './channel-name.js';
import type { PcapSelection } from './pcap-capture.js';
import { checkSize, expectedContents, requireListedFiles } from './verify-content.js';

export interface CaptureChannel {
  /** Display name: "main", "return-path", "multifd 2", "postcopy-preempt", "conn05.src2dst", ... */
  name: string;
  role: ChannelRole;
  /** Connection index (accept order) in a capture; 0 for a single file. */
  conn: number;
  direction: Direction;
  multifdId?: number;
  /** File holding the bytes (.gz: packed); undefined for stdin. */
  path?: string;
  /** Bytes the channel holds (for .gz, the unpacked length from the gzip trailer). */
  size?: number;
  /**
   * The capture missed the channel's start (a packet capture without its SYN) and its bytes begin
   * at the first record boundary found, `skipped` captured bytes in, and its offsets count from
   * there: a multifd channel then has no init message (decode with skipInit); a main channel
   * starts at a RAM record (decode with resumeInRam).
   */
  midStream?: { skipped: number };
  /** What index.json promises of this file (size, sha256): checked while it is read. */
  expect?: ExpectedContent;
  /** Stream the channel's bytes in chunks (bounded memory); failures are CaptureErrors. */
  open(): AsyncIterable<Uint8Array>;
  /**
   * The same bytes, except that stretches the consumer will pass over unread (`skippable()`, e.g.
   * a multifd decoder's omitted payloads) may be left unread: a SkippedBytes comes in their place.
   * Only where the bytes can be reached by position (a plain pcap).
   */
  openSkipping?(skippable: () => number): AsyncIterable<Uint8Array | SkippedBytes>;
}

export interface Capture {
  /** 'stdin': "-" or a pipe or device path (see isStreamPath), read once. */
  kind: 'capture' | 'file' | 'stdin' | 'pcap';
  path: string;
  channels: CaptureChannel[];
  /** Parsed index.json of a capture, when present. */
  index?: CaptureIndex;
  /** chunks.csv of a capture (recorded arrival times), when present. */
  chunksPath?: string;
  /** When each byte arrived (from chunks.csv, or a pcap's packet times); undefined without them. */
  arrivals(): Promise<ArrivalTimes | undefined>;
  /** Facts about the input a reader should be told (a pcap's holes, streams started mid-way, ignored traffic). */
  notices?: string[];
  /**
   * Streams of several channels from one read of the input, in the order given (a pcap: one pass
   * over the file instead of one per channel; what one reader has not taken yet waits in bounded
   * memory, then in a temporary file). Absent where each open() is its own file anyway.
   */
  openAll?(channels: CaptureChannel[]): AsyncIterable<Uint8Array>[];
  /** A pcap/pcapng input: its index and the migration chosen. */
  pcap?: PcapSelection;
  /** Channels index.json says the recorder did not write in full (a full disk): each is a failure for check and extract. */
  shortfalls?: Array<{ channel: string; message: string }>;
}

export interface OpenCaptureOptions {
  /** What "-" reads (default process.stdin). */
  stdin?: Readable;
  /** Which migration of a pcap/pcapng holding several (its id); default the only one. */
  migration?: number;
  /**
   * Check channel files against index.json (default true): sizes when opened, sha256 while they
   * are read; a difference is a CaptureError naming the file.
   */
  verify?: boolean;
}

const noArrivals = (): Promise<undefined> => Promise.resolve(undefined);

/** Role of a source-to-destination stream from its first bytes (all of them there are). */
function identify(head: Uint8Array): { role: ChannelRole; multifdId?: number } {
  return identifyChannel(head, { ended: true })!;
}

function fileChannel(path: string, init: Omit<CaptureChannel, 'path' | 'size' | 'open'>, expect?: ExpectedContent): CaptureChannel {
  const size = channelSize(path);
  checkSize(path, size, expect);
  return { ...init, path, size, ...(expect ? { expect } : {}), open: () => fileBytes(path, expect) };
}

/** Open a capture directory, a stream file (plain or .gz), a pcap/pcapng or "-" (stdin). Throws CaptureError. */
export async function openCapture(path: string, options: OpenCaptureOptions = {}): Promise<Capture> {
  // A pipe or device is read as standard input is: once, as one main stream (no seek, no size).
  if (isStreamPath(path)) {
    if (options.migration !== undefined) throw new CaptureSelectionError('--migration applies to pcap/pcapng captures only', path);
    const stdin = path === '-' ? (options.stdin ?? process.stdin) : undefined;
    const open = (): AsyncIterable<Uint8Array> => streamBytes(stdin ?? createReadStream(path, { highWaterMark: 1 << 17 }), path);
    return { kind: 'stdin', path, channels: [{ name: 'main', role: 'main', conn: 0, direction: 'src2dst', open }], arrivals: noArrivals };
  }
  if (!existsSync(path)) throw new CaptureError(`no such file or directory: ${path}`, path);
  const head = statSync(path).isDirectory() ? undefined : readHead(path);
  // The packet-capture reader is loaded only for a packet capture.
  if (head && looksLikePcap(head)) return (await import('./pcap-capture.js')).openPcapCapture(path, options.migration);
  if (options.migration !== undefined) throw new CaptureSelectionError(`${path}: --migration applies to pcap/pcapng captures only`, path);
  return head ? openStreamFile(path, head) : openDirectory(path, options.verify ?? true);
}

function openStreamFile(path: string, head: Uint8Array): Capture {
  // A .gz whose first bytes do not unpack is taken as a main stream: its reader then reports the damage.
  const g = isGzipPath(path) && head.length === 0 ? { role: 'main' as const } : identify(head);
  const ch = fileChannel(path, { name: g.role === 'main' ? 'main' : basename(path), role: g.role, conn: 0, direction: 'src2dst' });
  if (g.multifdId !== undefined) ch.multifdId = g.multifdId;
  return { kind: 'file', path, channels: [ch], arrivals: noArrivals };
}

/** The file a connection direction is stored in, if the directory holds one (plain before .gz). */
function storedFile(dir: string, names: ReadonlySet<string>, conn: number, direction: Direction): string | undefined {
  const name = [false, true].map((gz) => connectionFileName(conn, direction, gz)).find((n) => names.has(n));
  return name === undefined ? undefined : join(dir, name);
}

const unlisted = (file: string): CaptureError =>
  new CaptureError(`${file}: not listed in index.json, so its size and sha256 cannot be checked (added after recording?): move it out of the capture folder`, file, { code: 'UNLISTED_FILE' });

function openDirectory(path: string, verify: boolean): Capture {
  const index = readCaptureIndex(path);
  const listed = index ? listedFiles(index) : [];
  requireListedFiles(path, listed);
  const expected = verify ? expectedContents(listed) : new Map<string, ExpectedContent>();
  const expect = (file: string): ExpectedContent | undefined => expected.get(basename(file).replace(/\.gz$/, ''));
  // An index that lists connections vouches for each connNN file by name: one it leaves out (an
  // empty list included) is unchecked. Only rows of older recorders without file names do not.
  const rows = index && 'connections' in index && Array.isArray(index.connections) ? index.connections : undefined;
  const listsConnectionFiles = rows !== undefined && (rows.length === 0 || listed.length > 0);
  // Entries by name, whatever they are: a link to nothing or a directory under a channel file's
  // name is an error (plainFileAt), not a file to skip.
  const names = new Set(readdirSync(path));
  const channels: CaptureChannel[] = [];
  const streamName = STREAM_FILES.find((f) => names.has(f));
  if (streamName) {
    const streamFile = requirePlainFile(join(path, streamName));
    channels.push(fileChannel(streamFile, { name: 'main', role: 'main', conn: 0, direction: 'src2dst' }, expect(streamFile)));
  }
  const conns = new Set<number>();
  for (const f of names) {
    const parsed = parseConnectionFileName(f);
    if (parsed) conns.add(parsed.conn);
  }
  for (const conn of [...conns].sort((a, b) => a - b)) {
    let srcRole: ChannelRole | undefined;
    for (const direction of DIRECTIONS) {
      const stored = storedFile(path, names, conn, direction);
      if (!stored) continue;
      const file = requirePlainFile(stored);
      if (verify && listsConnectionFiles && !expect(file)) throw unlisted(file);
      const size = channelSize(file);
      checkSize(file, size, expect(file));
      let role: ChannelRole;
      let multifdId: number | undefined;
      if (direction === 'src2dst') {
        const g = identify(readHead(file));
        role = srcRole = g.role;
        multifdId = g.multifdId;
      } else {
        // The destination's bytes on a main connection are its return path; elsewhere they name nothing.
        role = reverseRole(srcRole, size);
      }
      const want = expect(file);
      const ch: CaptureChannel = { name: channelName(role, conn, direction, multifdId), role, conn, direction, path: file, size, ...(want ? { expect: want } : {}), open: () => fileBytes(file, want) };
      if (multifdId !== undefined) ch.multifdId = multifdId;
      channels.push(ch);
    }
  }
  if (channels.length === 0) throw new CaptureError(`${path} holds no stream.bin and no connNN.*.bin files`, path);
  disambiguateNames(channels);
  const chunks = join(path, CHUNKS_FILE);
  const hasChunks = plainFileAt(chunks) === 'file';
  const out: Capture = { kind: 'capture', path, channels, arrivals: hasChunks ? () => ArrivalTimes.load(chunks) : noArrivals };
  if (hasChunks) out.chunksPath = chunks;
  if (index) out.index = index;
  const short = recordingShortfalls(index);
  if (short.length) {
    out.shortfalls = short.map((x) => ({ channel: channels.find((c) => c.conn === x.conn && c.direction === x.direction)?.name ?? connectionFileName(x.conn, x.direction), message: x.message }));
    out.notices = short.map((x) => x.message);
  }
  return out;
}
