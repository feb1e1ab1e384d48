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
