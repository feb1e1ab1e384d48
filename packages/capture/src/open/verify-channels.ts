/**
 * The content check for channels a command does not read (extract and transcode read what the
 * source sent, not the return path): each is read through to its end, which checks its size and
 * sha256 against index.json as reading any channel does. A command that skipped them would
 * hold a damaged file to nothing while the README says every command checks every file.
 */
import type { CaptureChannel } from './open-capture.js';

/** Read each channel that index.json makes a promise about to its end; a CaptureError names the first that breaks it. */
export async function verifyChannels(channels: readonly CaptureChannel[]): Promise<void> {
  for (const ch of channels) {
    if (!ch.expect) continue;
    for await (const chunk of ch.open()) void chunk;
  }
}
