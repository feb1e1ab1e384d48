/**
 * DestinationOrderReader with recycleBuffers: every channel's read buffers are reused, and a caller
 * that is done with each event before the next sees exactly what a reader with fresh buffers gives,
 * on real captures (plain files: the ones recycling applies to), while its page bytes come from a
 * handful of buffers instead of one per read.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openCapture } from '@migwire/capture';
import { DestinationOrderReader } from '../src/index.js';
import { capturesDir } from './helpers/capture-timeline.js';
import { unpackedCopy } from './helpers/synthetic-capture.js';

interface Seen {
  /** sha256 over every event as it was delivered. */
  digest: string;
  events: number;
  /** Distinct ArrayBuffers behind the page bytes of multifd events. */
  pageBuffers: number;
}

async function readAll(dir: string, recycleBuffers: boolean): Promise<Seen> {
  const reader = new DestinationOrderReader(await openCapture(dir), { recycleBuffers });
  const h = createHash('sha256');
  const buffers = new Set<ArrayBufferLike>();
  let events = 0;
  for await (const e of reader.events()) {
    events++;
    if (e.kind === 'main') {
      const r = e.record;
      h.update(`${r.kind}@${r.offset}+${r.length};`);
      if (r.kind === 'ram-page' || r.kind === 'device-state') h.update(r.data);
    } else if (e.kind === 'multifd-pages') {
      h.update(`${e.channel}:`);
      for (const p of e.pages) {
        h.update(`${p.block}+${p.offset};`);
        if (p.data) {
          h.update(p.data);
          buffers.add(p.data.buffer);
        }
      }
    }
  }
  return { digest: h.digest('hex'), events, pageBuffers: buffers.size };
}

for (const name of ['10.0-multifd4-none', '10.0-c-multifd4-zstd', '11.1-multifd4-postcopy-preempt', '10.0-precopy-tcp']) {
  test(`${name}: recycled read buffers give the same events as fresh ones`, async (t) => {
    const dir = unpackedCopy(join(capturesDir(), name));
    try {
      const fresh = await readAll(dir, false);
      const recycled = await readAll(dir, true);
      t.true(fresh.events > 0);
      t.is(recycled.events, fresh.events);
      t.is(recycled.digest, fresh.digest, 'every record and page as it was delivered');
      // Uncompressed pages are views into the read buffers (decompressed ones: into the decompressor's output).
      if (fresh.pageBuffers > 0 && !/zstd|zlib/.test(name)) {
        // Fresh: a buffer per read; recycled: the rings and one joined payload per channel.
        t.true(recycled.pageBuffers <= 4 * 10, `page bytes from ${recycled.pageBuffers} buffers`);
        t.true(fresh.pageBuffers > recycled.pageBuffers * 2, `fresh ${fresh.pageBuffers} vs recycled ${recycled.pageBuffers}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
