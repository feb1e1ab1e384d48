/**
 * ownPending(): a caller that reads into the same memory again (the recorder's slabs) may reuse
 * a chunk once write() and ownPending() return. Every channel of every shared capture, fed from
 * one buffer that is scribbled over after each write, decodes to the same records (each record
 * looked at as it is delivered, as the live rules do).
 */
import test from 'ava';
import { MainStreamDecoder, MultifdDecoder, ReturnPathDecoder, type CodecError } from '../src/index.js';
import { feed, fingerprint, fingerprintOne, firstDifference, rng, type AnyDecoder } from './feed.js';
import { captureChannels, sharedCaptures } from './paths.js';
import { syntheticStream } from './synthetic.js';

/** Feed `bytes` through one reused buffer, cut at `size(i)`, each record fingerprinted as it is delivered. */
function feedReused(dec: AnyDecoder, bytes: Uint8Array, size: (i: number) => number): { prints: string[]; error?: CodecError } {
  const r = feed<string>(dec, bytes, size, { reuse: true, keep: fingerprintOne });
  return { prints: r.records, ...(r.error ? { error: r.error } : {}) };
}

test('the synthetic stream, every split point, through a reused buffer', (t) => {
  const bytes = syntheticStream();
  const expected = fingerprint(feed(new MainStreamDecoder(), bytes, [bytes.length]).records);
  for (let cut = 1; cut < bytes.length; cut += 7) {
    const r = feedReused(new MainStreamDecoder(), bytes, (i) => (i % 2 === 0 ? cut : 1 + (cut % 13)));
    const diff = r.error ? r.error.message : firstDifference(r.prints, expected);
    if (diff) return t.fail(`cut ${cut}: ${diff}`);
  }
  t.pass();
});

for (const name of sharedCaptures()) {
  test(`${name}: every channel decodes the same through a reused buffer`, (t) => {
    const random = rng(name.length * 104729);
    for (const ch of captureChannels(name)) {
      const magic = ch.bytes.readUInt32BE(0);
      const make = (): AnyDecoder =>
        ch.direction === 'dst2src' ? new ReturnPathDecoder() : magic === 0x5145564d ? new MainStreamDecoder() : magic === 0x11223344 ? new MultifdDecoder() : new MainStreamDecoder({ start: 'ram' });
      const whole = feed(make(), ch.bytes, [ch.bytes.length]);
      const expected = fingerprint(whole.records);
      const r = feedReused(make(), ch.bytes, () => 1 + Math.floor(random() * random() * 300_000));
      t.is(r.error?.message, whole.error?.message, ch.file);
      t.is(firstDifference(r.prints, expected), undefined, `${ch.file} random chunks`);
      if (ch.bytes.length <= 200_000) {
        const ones = feedReused(make(), ch.bytes, () => 1 + Math.floor(random() * 3));
        t.is(firstDifference(ones.prints, expected), undefined, `${ch.file} 1-3 byte chunks`);
      }
    }
  });
}
