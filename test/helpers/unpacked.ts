/** A copy of a capture with its gzipped channel files unpacked: plain files, to edit in place or to read by position. */
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Copy every file of `from` into the existing folder `to`, `*.bin.gz` unpacked to `*.bin`. */
export function copyUnpacked(from: string, to: string): void {
  for (const f of readdirSync(from)) {
    if (f.endsWith('.bin.gz')) writeFileSync(join(to, f.slice(0, -3)), gunzipSync(readFileSync(join(from, f))));
    else copyFileSync(join(from, f), join(to, f));
  }
}
