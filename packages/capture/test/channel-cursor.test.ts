/**
 * ChannelCursor.close(): a reader that stops after a few records (transcode's probe) lets go of
 * the file at once, and of the worker hashing it against index.json.
 */
import test from 'ava';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MainStreamDecoder, type MainRecord } from '@migwire/stream-codec';
import { ChannelCursor, HASH_ASIDE_MIN_BYTES, openCapture } from '../src/index.js';
import { FIXTURES, filesOpenIn, scratch } from './paths.js';

test('a cursor closed after three records has closed its file, and reads nothing more', async (t) => {
  const dir = join(scratch('mw-cursor-'), 'c');
  cpSync(join(FIXTURES, '10.0-precopy-tcp'), dir, { recursive: true });
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.bin.gz'))) {
    writeFileSync(join(dir, f.slice(0, -3)), gunzipSync(readFileSync(join(dir, f))));
    rmSync(join(dir, f));
  }
  try {
    const capture = await openCapture(dir);
    const main = capture.channels.find((c) => c.role === 'main')!;
    t.true(main.size! >= HASH_ASIDE_MIN_BYTES, 'large enough to be hashed by a worker');
    const cur = new ChannelCursor<MainRecord>(main, new MainStreamDecoder({ channel: main.name }));
    for (let i = 0; i < 3; i++) t.truthy(await cur.next());
    t.true(filesOpenIn(dir).length > 0, 'reading holds the file open');
    await cur.close();
    // The hash worker stops at its next read and closes its own descriptor of the file.
    for (let i = 0; i < 100 && filesOpenIn(dir).length; i++) await new Promise((r) => setTimeout(r, 20));
    t.deepEqual(filesOpenIn(dir), []);
    t.is(await cur.next(), undefined);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});
