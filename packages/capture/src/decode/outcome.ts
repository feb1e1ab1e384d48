/** What a decode of every channel amounted to, in the words the commands print. */
import { CodecError, ErrorCode, isEncryptedRole, type CodecRecord } from '@migwire/stream-codec';
import { CaptureError } from '../errors.js';
import type { Capture, CaptureChannel } from '../open/open-capture.js';
import type { ChannelResult } from './decode-capture.js';

/** Names a user can give to --channel: each channel's name, and connNN.direction for the rest. */
export function channelNames(channels: CaptureChannel[]): string[] {
  return channels.filter((c) => c.role !== 'empty').map((c) => c.name);
}

/**
 * A channel that should have been a stream and is not: a lone file or stdin that claims no role,
 * or a connection's bytes with no known role (other than a TLS peer's answer). Readers decode it
 * as a main stream, so that it stops at its first bytes with the codec's reason (bad magic,
 * empty) instead of being skipped, or read to its end.
 */
export function notAMigrationStream(input: Capture, ch: CaptureChannel): boolean {
  // A lone stream must be one; a capture's (or pcap's) directions may be empty or unclaimed.
  if (input.kind === 'file' || input.kind === 'stdin') return ch.role === 'empty' || ch.role === 'other';
  if (ch.role !== 'other') return false;
  const src = input.channels.find((c) => c.conn === ch.conn && c.direction === 'src2dst');
  return !(src && isEncryptedRole(src.role));
}

/**
 * Set when no channel could be decoded (every one TLS-encrypted, empty or unknown): a result that
 * examined nothing must not read as a pass.
 */
export function nothingDecoded(path: string, results: ChannelResult[]): string | undefined {
  if (results.some((r) => !r.skipped)) return undefined;
  const why = [...new Set(results.map((r) => `${r.channel.name}: ${r.skipped}`))];
  return `${path}: nothing could be decoded (${why.length ? why.join('; ') : 'no channels'})`;
}

/** A main stream that stops between records but before QEMU_VM_EOF: the migration did not finish. */
export function incompleteStream(ch: CaptureChannel, bytes: number, last: CodecRecord | undefined): CodecError {
  const lastText = last ? `${last.kind}${'idstr' in last && last.idstr ? ` "${last.idstr}"` : ''} at byte ${last.offset}` : 'none';
  return new CodecError({
    code: ErrorCode.Truncated,
    channel: ch.name,
    role: 'main',
    offset: bytes,
    message: `incomplete stream: ends before QEMU_VM_EOF; last complete record: ${lastText}`,
    expected: 'QEMU_VM_EOF',
    found: 'end of stream',
  });
}

/** A file that failed mid-read (truncated .gz, I/O error), with the channel and how far it got. */
export function withPlace(e: unknown, ch: CaptureChannel, bytes: number): unknown {
  if (!(e instanceof CaptureError)) return e;
  return new CaptureError(`${e.message} (channel ${ch.name}, after ${bytes} bytes)`, e.path, { cause: e });
}
