/**
 * A main stream file read for a decoder that takes page runs found ahead (ahead.ts): chunks by
 * position up to the next run, or to where the worker is scanning one, and the run itself once
 * the decoder stands at its start with nothing queued. The caller decodes each chunk before it
 * asks for the next; a run comes out already taken by the decoder, for the caller to count.
 */
import { closeSync, openSync } from 'node:fs';
import type { MainStreamDecoder, PassedPageRun } from '@migwire/stream-codec';
import { READ_SIZE, readAt } from '../file-bytes.js';
import type { PageRunsAhead } from './ahead.js';

/** Read buffers in turn: one being decoded, the rest for a record split across reads. */
const RING = 4;

export async function* mainFileWithRuns(path: string, dec: MainStreamDecoder, ahead: PageRunsAhead): AsyncGenerator<Uint8Array | PassedPageRun> {
  const fd = openSync(path, 'r');
  try {
    const ring: Buffer[] = [];
    const lengths: number[] = new Array<number>(RING).fill(0);
    let pos = 0;
    for (let turn = 0; ; ) {
      let run = ahead.runFrom(pos);
      if (run?.start === pos) {
        const passed = dec.pending === 0 ? dec.passPageRun(run) : undefined;
        if (passed) {
          pos = run.end;
          yield passed;
          continue;
        }
        run = ahead.runFrom(pos + 1);
      } else if (dec.pending === 0 && ahead.scanningFrom() === pos && (await ahead.next())) {
        // The worker is scanning the run that starts here: its report comes within a few milliseconds.
        continue;
      }
      let limit = pos + READ_SIZE;
      if (run && run.start < limit) limit = run.start;
      const scanning = ahead.scanningFrom();
      if (scanning !== undefined && scanning > pos && scanning < limit) limit = scanning;
      const slot = turn++ % RING;
      // A buffer is reused once the decoder's unconsumed tail lies in the newer ones.
      const newer = lengths.reduce((a, b) => a + b, 0) - lengths[slot]!;
      let buf = ring[slot];
      if (!buf || dec.pending > newer) ring[slot] = buf = Buffer.allocUnsafe(READ_SIZE);
      const got = readAt(fd, path, buf, limit - pos, pos);
      lengths[slot] = got;
      if (got === 0) return;
      pos += got;
      yield buf.subarray(0, got);
    }
  } finally {
    closeSync(fd);
    ahead.stop();
  }
}
