/**
 * DestinationOrderReader with collectErrors (extract): a multifd channel that ends inside a packet
 * stops that channel and is reported in `errors`, with its channel and byte offset, after the
 * pages it did deliver. (The reader once returned at the channel's end without looking at why it
 * ended: extract then wrote an image short of the channel's remaining pages and said nothing.)
 */
import test from 'ava';
import { readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { openCapture, restampIndex } from '@migwire/capture';
import { DestinationOrderReader } from '../src/index.js';
import { capturesDir } from './helpers/capture-timeline.js';
import { unpackedCopy } from './helpers/synthetic-capture.js';

for (const collectErrors of [true, false]) {
  test(`a multifd channel cut inside a packet is ${collectErrors ? 'collected in errors' : 'thrown'}, naming the channel and offset`, async (t) => {
    const dir = unpackedCopy(join(capturesDir(), '10.0-multifd4-none'));
    const file = join(dir, 'conn02.src2dst.bin');
    const cut = Math.floor(readFileSync(file).length / 2) + 5;
    truncateSync(file, cut);
    restampIndex(dir);
    const reader = new DestinationOrderReader(await openCapture(dir), { collectErrors });
    let pages = 0;
    const read = async (): Promise<void> => {
      for await (const e of reader.events()) if (e.kind === 'multifd-pages') pages += e.pages.length;
    };
    if (!collectErrors) {
      const e = await t.throwsAsync(read);
      t.regex(e?.message ?? '', /TRUNCATED\) on multifd \d at byte \d+/);
      return;
    }
    await read();
    t.true(pages > 0, 'the other channels, and this one up to the cut, were delivered');
    t.is(reader.errors.length, 1);
    const err = reader.errors[0]!;
    t.regex(err.message, /\(TRUNCATED\) on multifd \d at byte \d+/);
    t.true(err.offset <= cut);
  });
}

// A channel cut at a packet boundary decodes cleanly to its end: what is wrong is that it ends
// before the SYNC of a round the main channel closed (found by a hostile-input sweep: extract and
// transcode exited 0 with that round's pages missing).
for (const packets of [0, 1]) {
  test(`a multifd channel that ends cleanly after ${packets === 0 ? 'its init message' : 'one packet'}, short of main's rounds, is an error naming it`, async (t) => {
    const dir = unpackedCopy(join(capturesDir(), '10.0-multifd4-none'));
    const file = join(dir, 'conn02.src2dst.bin');
    const bytes = readFileSync(file);
    const magic = Buffer.from([0x11, 0x22, 0x33, 0x44]);
    let cut = 0;
    for (let i = 0; i <= packets; i++) cut = bytes.indexOf(magic, cut + 1);
    t.true(cut > 0);
    truncateSync(file, cut);
    restampIndex(dir);
    const reader = new DestinationOrderReader(await openCapture(dir), { collectErrors: true });
    for await (const _ of reader.events());
    t.is(reader.errors.length, 1);
    const err = reader.errors[0]!;
    t.is(err.code, 'TRUNCATED');
    t.is(err.offset, cut);
    t.regex(err.message, /multifd \d ended after \d+ SYNC packets?, but the main channel had closed round \d+/);
    const thrown = await t.throwsAsync(async () => {
      for await (const _ of new DestinationOrderReader(await openCapture(dir)).events());
    });
    t.is((thrown as { code?: string }).code, 'TRUNCATED', 'without collectErrors (transcode) it is thrown');
  });
}

test('every real multifd fixture reads in destination order with no SYNC shortfall', async (t) => {
  for (const name of ['10.0-multifd4-none', '10.0-multifd4-zlib', '11.1-multifd4-none', '7.2-c-multifd4-zstd', '10.0-c-multifd4-zstd', '11.1-multifd4-postcopy']) {
    const reader = new DestinationOrderReader(await openCapture(join(capturesDir(), name)), { collectErrors: true });
    for await (const _ of reader.events());
    t.deepEqual(reader.errors.map((e) => e.message), [], name);
  }
});
