import test from 'ava';
import { CodecError, MainStreamDecoder, MultifdDecoder, ReturnPathDecoder } from '../src/index.js';
import { feed, rng } from './feed.js';
import { captureChannels, sharedCaptures } from './paths.js';
import { syntheticStream } from './synthetic.js';

/** Every outcome must be records or a CodecError: nothing else may escape, nothing may hang. */
function assertTyped(t: import('ava').ExecutionContext, make: () => MainStreamDecoder | MultifdDecoder | ReturnPathDecoder, bytes: Uint8Array, what: string): void {
  try {
    feed(make(), bytes, [Math.max(1, bytes.length >> 3)]);
  } catch (e) {
    t.fail(`${what}: ${(e as Error).stack}`);
  }
}

const sources: Array<{ name: string; bytes: Uint8Array; make: () => MainStreamDecoder | MultifdDecoder | ReturnPathDecoder }> = [
  { name: 'synthetic', bytes: syntheticStream(), make: () => new MainStreamDecoder() },
];
for (const cap of sharedCaptures()) {
  for (const ch of captureChannels(cap)) {
    const magic = ch.bytes.readUInt32BE(0);
    // Keep the robustness run short: the first 64 KiB of each channel carry every header kind.
    const bytes = ch.bytes.subarray(0, 64 * 1024);
    const make =
      ch.direction === 'dst2src'
        ? () => new ReturnPathDecoder()
        : magic === 0x5145564d
          ? () => new MainStreamDecoder()
          : magic === 0x11223344
            ? () => new MultifdDecoder()
            : () => new MainStreamDecoder({ start: 'ram' });
    sources.push({ name: `${cap}/${ch.file}`, bytes, make });
  }
}

test('truncated copies of real streams end in a typed TRUNCATED error or success', (t) => {
  const random = rng(1);
  for (const s of sources) {
    for (let k = 0; k < 40; k++) {
      const cut = Math.floor(random() * s.bytes.length);
      const r = feed(s.make(), s.bytes.subarray(0, cut), [997]);
      if (r.error) t.true(r.error instanceof CodecError);
    }
  }
  t.pass();
});

test('bit-flipped copies of real streams give records or a typed error, never anything else', (t) => {
  const random = rng(2);
  let errors = 0;
  let runs = 0;
  for (const s of sources) {
    for (let k = 0; k < 60; k++) {
      const b = Uint8Array.from(s.bytes);
      const flips = 1 + Math.floor(random() * 8);
      for (let f = 0; f < flips; f++) {
        // Bias flips toward the start, where the headers and length fields are.
        const at = Math.floor(random() * random() * b.length);
        b[at]! ^= 1 << Math.floor(random() * 8);
      }
      assertTyped(t, s.make, b, `${s.name} flip run ${k}`);
      const r = feed(s.make(), b, [4096]);
      runs++;
      if (r.error) {
        errors++;
        t.true(typeof r.error.code === 'string' && r.error.offset >= 0 && r.error.offset <= b.length, `${s.name}: ${r.error.message}`);
      }
    }
  }
  t.log(`${runs} mutated inputs, ${errors} typed errors`);
  t.true(errors > 0);
});

test('length fields claiming gigabytes are refused without allocating them', (t) => {
  const huge = Buffer.from('5145564d00000003' + '06' + '7fffffff' + '7b', 'hex');
  const before = process.memoryUsage().arrayBuffers;
  const r = feed(new MainStreamDecoder(), huge, [huge.length]);
  t.is(r.error?.code, 'LIMIT_EXCEEDED');
  t.true(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
  const rp = feed(new ReturnPathDecoder(), Buffer.from('000500070670632e72616d00000000ffffffff', 'hex'), [100]);
  t.is(rp.error?.code, 'BAD_RECV_BITMAP');
});
