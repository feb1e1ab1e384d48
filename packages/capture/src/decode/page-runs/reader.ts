/**
 * A main stream file read for a decoder that takes page runs (MainStreamDecoder.passPageRun)
 * instead of decoding every page record: the runs a worker found ahead (ahead.ts), and the runs
 * this reader scans itself in each chunk it reads. Between runs the decoder gets the bytes as
 * usual. The reader keeps the decoder standing between records where it can: a page record cut
 * by the end of a chunk is read again with the next one, and a page record the decoder holds part
 * of is completed with exactly its missing bytes. The caller decodes each chunk before it asks
 * for the next; a run comes out already taken by the decoder, for the caller to count.
 */
import { closeSync, openSync } from 'node:fs';
import { PageRunScanner, findPageRunStart, pageRecordLength, type MainStreamDecoder, type PassedPageRun } from '@migwire/stream-codec';
import { ReadRing, readAt } from '../file-bytes.js';
import type { ExpectedContent } from '../../open/byte-source.js';
import { hashesAside, verifiedAside, type HashAhead } from '../../open/hash-aside.js';
import { isGzipPath } from '../../open/byte-source.js';
import type { CaptureChannel } from '../../open/open-capture.js';
import type { PageRunsAhead } from './ahead.js';

/**
 * 1 MiB reads: the decoder touches little of what a page run holds, so the buffer staying in the
 * CPU's cache matters less than fewer reads (and fewer page records cut by a chunk's end, read
 * again): 10-20% faster here than 128 KiB.
 */
const READ_SIZE = 1 << 20;
/** Longest page record header: be64, a name length byte and up to 255 name bytes. */
const MAX_HEAD = 8 + 1 + 255;

/** A run the decoder took, with its bytes when this reader found it in its own chunk (not a worker's). */
export type ReadPageRun = PassedPageRun & { bytes?: Uint8Array };

export interface MainFileRunOptions {
  /**
   * The caller takes each run's pages from its bytes (forEachRunPage) and may keep views of them
   * until `inUse` says otherwise: runs pass though the decoder hands out page payloads, and a read
   * buffer is reused only once nothing holds it. Runs from workers (`ahead`) carry no bytes: not with this.
   */
  pagesElsewhere?: { inUse(buffer: ArrayBufferLike): boolean };
  /** Runs this reader finds carry every record (PageRun.detail), as the workers' do when started so. */
  detail?: boolean;
}

export async function* mainFileWithRuns(path: string, dec: MainStreamDecoder, ahead?: PageRunsAhead, o: MainFileRunOptions = {}): AsyncGenerator<Uint8Array | ReadPageRun> {
  if (o.pagesElsewhere && ahead) throw new Error('mainFileWithRuns: runs found ahead carry no bytes to take pages from');
  const fd = openSync(path, 'r');
  const pageSize = dec.targetPageSize;
  const scanner = new PageRunScanner(pageSize, { detail: o.detail === true });
  const head = Buffer.allocUnsafe(MAX_HEAD);
  const pass = o.pagesElsewhere ? { pagesElsewhere: true } : {};
  // Held buffers are replaced, not waited for: a ring a little deeper than the writes a caller queues.
  const ring = new ReadRing(READ_SIZE, { pending: () => dec.pending, ...(o.pagesElsewhere ? { inUse: (b: ArrayBufferLike) => o.pagesElsewhere!.inUse(b), ring: 8 } : {}) });
  try {
    let pos = 0;
    for (;;) {
      let run = ahead?.runFrom(pos);
      if (run?.start === pos) {
        const passed = dec.pending === 0 ? dec.passPageRun(run, pass) : undefined;
        if (passed) {
          pos = run.end;
          yield passed;
          continue;
        }
        run = ahead!.runFrom(pos + 1);
      } else if (ahead && dec.pending === 0 && ahead.scanningFrom(pos) === pos && (await ahead.next())) {
        // The worker is scanning the run that starts here: its report comes within a few milliseconds.
        continue;
      }
      let limit = pos + READ_SIZE;
      if (run && run.start < limit) limit = run.start;
      const scanning = ahead?.scanningFrom(pos);
      if (scanning !== undefined && scanning > pos && scanning < limit) limit = scanning;
      // The decoder holds the start of a page record: read just the rest of it, so it stands between records again.
      const rest = dec.pending > 0 ? missing(fd, path, head, pos - dec.pending, dec.pending, pageSize) : undefined;
      if (rest !== undefined && pos + rest < limit) limit = pos + rest;
      const buf = ring.next();
      const got = readAt(fd, path, buf, limit - pos, pos);
      ring.filled(got);
      if (got === 0) return;
      const chunk = buf.subarray(0, got);
      if (dec.pending > 0 || rest !== undefined) {
        pos += got;
        yield chunk;
        continue;
      }
      // Between records: take the page runs in this chunk, let the decoder have what lies between them.
      const whole = got === limit - pos; // not cut short by the end of the file
      let at = 0;
      while (at < got) {
        const r = scanner.scan(chunk, at, got, pos);
        const found = scanner.take();
        scanner.forget();
        const passed: ReadPageRun | undefined = found && dec.passPageRun(found, pass);
        if (passed) {
          passed.bytes = chunk.subarray(found!.start - pos, found!.end - pos);
          yield passed;
          at = r.at;
          if (at === got) break;
          if (r.stop === 'more') {
            // A page record cut by the chunk's end is read again whole with the next chunk; at the
            // end of the file it is the decoder's to call truncated.
            if (!whole) yield chunk.subarray(at);
            if (!whole) at = got;
            break;
          }
        }
        // Not a page record here (or not one the decoder takes): the decoder reads up to where the next run starts.
        const next = findPageRunStart(chunk, at + 1, got, pageSize);
        const upTo = next.sure ? next.at : got;
        yield chunk.subarray(at, upTo);
        at = upTo;
        if (dec.pending > 0 && at < got) {
          // That was no record boundary: the rest of the chunk goes to the decoder too.
          yield chunk.subarray(at);
          at = got;
        }
      }
      pos += at;
    }
  } finally {
    closeSync(fd);
    ahead?.stop();
  }
}

/**
 * Can this channel be read with page runs: a main stream from its start in a plain file (a gzip
 * cannot be read at an offset), whose sha256, if index.json gives one, is checked on another
 * thread (this reader does not see every byte).
 */
export function readsPageRuns(ch: CaptureChannel): boolean {
  const hashOk = !ch.expect?.sha256 || hashesAside(ch.size, ch.expect);
  return ch.role === 'main' && !ch.midStream && !!ch.path && !isGzipPath(ch.path) && hashOk && ch.size !== undefined;
}

/**
 * Bytes missing from a page record the decoder holds `have` bytes of (from `start`), read back
 * from the file; undefined when those bytes do not start a PAGE or ZERO record.
 */
function missing(fd: number, path: string, head: Buffer, start: number, have: number, pageSize: number): number | undefined {
  const n = readAt(fd, path, head, Math.min(have, head.length), start);
  const length = pageRecordLength(head, 0, n, pageSize);
  return length !== undefined && length > have ? length - have : undefined;
}

/**
 * The reader's items held to index.json's sha256, computed on another thread (this reader does
 * not see every byte); runs count by their extent. The size was checked when the capture was opened.
 */
export function checkedRuns<T extends PassedPageRun>(source: AsyncIterable<Uint8Array | T>, path: string, expect: ExpectedContent, hashes?: HashAhead): AsyncIterable<Uint8Array | T> {
  const length = (item: Uint8Array | T): number => (item instanceof Uint8Array ? item.length : item.end - item.start);
  return expect.sha256 ? verifiedAside(source, path, expect, length, hashes) : source;
}
