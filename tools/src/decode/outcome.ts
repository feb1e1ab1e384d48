/** What a decode of every channel amounted to, in the words the commands print. */
import type { CaptureChannel } from '@migwire/capture';
import type { ChannelResult } from './channels.js';

/** Names a user can give to --channel: each channel's name, and connNN.direction for the rest. */
export function channelNames(channels: CaptureChannel[]): string[] {
  return channels.filter((c) => c.role !== 'empty').map((c) => c.name);
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
