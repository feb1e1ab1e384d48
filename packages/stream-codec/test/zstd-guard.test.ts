import test from 'ava';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CodecError, decodeMultifdChannel, MultifdPageDecoder, type MultifdRamPacketRecord } from '../src/index.js';
import { PayloadProblem, ZstdGuard } from '../src/internal.js';
import { readChannelFile, SHARED_CAPTURES, sharedCaptures } from './paths.js';

function zstdChannels(): Array<{ name: string; packets: MultifdRamPacketRecord[] }> {
  const out: Array<{ name: string; packets: MultifdRamPacketRecord[] }> = [];
  for (const cap of sharedCaptures().filter((c) => c.includes('zstd'))) {
    for (const f of readdirSync(join(SHARED_CAPTURES, cap)).filter((n) => /^conn0[1-9]\.src2dst\.bin(\.gz)?$/.test(n))) {
      const { records } = decodeMultifdChannel(new Uint8Array(readChannelFile(join(SHARED_CAPTURES, cap, f))));
      out.push({ name: `${cap}/${f}`, packets: records.filter((r): r is MultifdRamPacketRecord => r.kind === 'multifd-packet') });
    }
  }
  return out;
}

const channels = zstdChannels();
const haveCaptures = channels.length > 0 || process.env['CI'] === 'true';

(haveCaptures ? test : test.skip)('every block of real QEMU zstd channels passes the guard, its sequences using their bitstream exactly', (t) => {
  t.true(channels.length >= 8, 'the 10.0 and 7.2 zstd captures');
  for (const ch of channels) {
    const pd = new MultifdPageDecoder();
    let pages = 0;
    for (const p of ch.packets) pages += pd.pages(p).length;
    t.true(pages > 0, ch.name);
    t.true(pd.zstdGuard.blocksChecked > 0, `${ch.name}: compressed blocks checked`);
    // A table or bit-order mistake in the guard would leave bits over (or run out of them).
    t.is(pd.zstdGuard.maxLeftoverBits, 0, ch.name);
  }
});

// Found by `migwire fuzz codec` (seed 62094): two bytes inserted into a 10.0 zstd payload made
// fzstd loop for ~8 s on the block before it gave up. The guard refuses the block first.
(haveCaptures ? test : test.skip)('a zstd block corrupted as the fuzzer found is refused by the guard, not looped over', (t) => {
  const ch = channels.find((c) => c.name.startsWith('10.0-c-multifd4-zstd/conn01'));
  if (!ch) return t.fail('10.0-c-multifd4-zstd capture missing');
  const data = ch.packets.filter((p) => p.normalPages > 0);
  const second = data[1]!;
  const p = second.payload;
  const corrupt = new Uint8Array(p.length);
  corrupt.set(p.subarray(0, 517), 0);
  corrupt.set([0x3b, 0xbd], 517);
  corrupt.set(p.subarray(517, p.length - 2), 519);
  const pd = new MultifdPageDecoder();
  pd.pages(data[0]!);
  const e = t.throws(() => pd.pages({ ...second, payload: corrupt }), { instanceOf: CodecError });
  t.is(e?.code, 'BAD_COMPRESSED_PAYLOAD');
  t.regex(e?.message ?? '', /zstd payload is corrupt/);
});

test('malformed frames and blocks are refused with a typed problem', (t) => {
  const frame = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58); // magic, no single segment, window byte
  const g = new ZstdGuard();
  g.check(frame);
  // Block header: last=0, type 3 (reserved).
  t.throws(() => g.check(Uint8Array.of(0b110, 0, 0)), { instanceOf: PayloadProblem, message: /reserved block type/ });
  t.throws(() => new ZstdGuard().check(Uint8Array.of(1, 2, 3, 4, 5, 6)), { instanceOf: PayloadProblem, message: /no zstd frame magic/ });
  const g2 = new ZstdGuard();
  g2.check(frame);
  // A raw block announcing more bytes than the payload has.
  t.throws(() => g2.check(Uint8Array.of(0x20, 0x03, 0x00, 1, 2)), { instanceOf: PayloadProblem, message: /ends inside a block/ });
  t.true(existsSync(SHARED_CAPTURES) || process.env['CI'] !== 'true');
});
