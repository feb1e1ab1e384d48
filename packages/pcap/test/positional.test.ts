/**
 * Pass 1 on a plain file (indexCapture with extents over a SeekableFile): payloads in order are
 * left unread and each direction's bytes are read back by position. For every reassembly edge
 * case the bytes, holes, retransmission and conflict counts equal those of a full reassembly.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CaptureEvent, fileSource, indexCapture, LinkType, readExtents, streamExtents } from '../src/index.js';
import { collect, records } from './helpers/collect.js';
import { Conversation } from './helpers/conversation.js';
import { concat, pattern } from './helpers/frames.js';
import { chunked, writePcap } from './helpers/writers.js';

const data = pattern(20_000, 7);
const piece = (from: number, to: number) => data.subarray(from, to);
const conv = (isn = 1000) => new Conversation({ addr: '10.0.0.1', port: 40000, isn }, { addr: '10.0.0.2', port: 4444, isn: 77 }).handshake();
const QEVM = concat([Uint8Array.of(0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3), piece(8, 1000)]);

function conflicting(from: number, to: number): Uint8Array {
  const b = piece(from, to).slice();
  b.fill(0xee, 100, 110);
  return b;
}

const cases: Record<string, () => Conversation> = {
  'in order': () => {
    const c = conv().data('c', 0, QEVM);
    for (let off = 1000; off < 20_000; off += 1000) c.data('c', off, piece(off, off + 1000));
    return c.fin('c', 20_000).fin('s', 0);
  },
  'reordered': () => conv().data('c', 0, QEVM).data('c', 3000, piece(3000, 4000)).data('c', 2000, piece(2000, 3000)).data('c', 1000, piece(1000, 2000)).data('c', 4000, piece(4000, 9000)),
  'faithful retransmission of unread bytes': () => conv().data('c', 0, QEVM).data('c', 1000, piece(1000, 3000)).data('c', 1500, piece(1500, 2500)).data('c', 3000, piece(3000, 4000)),
  'conflicting retransmission of unread bytes': () => conv().data('c', 0, QEVM).data('c', 1000, piece(1000, 3000)).data('c', 1500, conflicting(1500, 2500)).data('c', 3000, piece(3000, 4000)),
  'sequence wrap': () => {
    const c = conv(2 ** 32 - 5000).data('c', 0, QEVM);
    for (let off = 1000; off < 20_000; off += 1000) c.data('c', off, piece(off, off + 1000));
    return c;
  },
  'hole': () => conv().data('c', 0, QEVM).data('c', 1000, piece(1000, 2000)).data('c', 3000, piece(3000, 5000)).fin('c', 5000),
  'acknowledged gap': () => conv().data('c', 0, QEVM).data('c', 2000, piece(2000, 3000)).ackTo('s', 0, 2500).data('c', 3000, piece(3000, 6000)),
};

for (const [name, make] of Object.entries(cases)) {
  test(`read by position equals reassembly: ${name}`, async (t) => {
    const file = writePcap(records(make().packets), { linkType: LinkType.Raw });
    const reference = await collect(chunked(file, 1500));
    const end = reference.all.find((e): e is Extract<CaptureEvent, { kind: 'end' }> => e.kind === 'end')!;
    const firstHole = reference.events.get('0a')?.find((e) => e.kind === 'hole');
    const dir = mkdtempSync(join(tmpdir(), 'mw-pcap-pos-'));
    try {
      const path = join(dir, 'c.pcap');
      writeFileSync(path, file);
      const index = await indexCapture(fileSource(path)(), { extents: true });
      const c = [...index.migrations.flatMap((m) => m.connections), ...index.ignored][0]!;
      t.like(c.src2dst, { bytes: end.a.bytes, missingBytes: end.a.missingBytes, conflicts: end.a.conflicts, retransmittedBytes: end.a.retransmittedBytes, holes: end.a.holes });
      if (name.startsWith('conflicting')) t.true(c.src2dst.conflicts > 0, 'the differing copy is found although the first was never read');
      const extents = streamExtents(index, c, 'src2dst')!;
      t.truthy(extents);
      const parts: Uint8Array[] = [];
      for await (const b of readExtents(path, extents)) parts.push(b.slice());
      const expected = firstHole ? reference.bytes.get('0a')!.subarray(0, firstHole.offset) : reference.bytes.get('0a')!;
      t.deepEqual(concat(parts), expected);
      t.deepEqual(extents.hole && { offset: extents.hole.offset, length: extents.hole.length }, firstHole && { offset: firstHole.offset, length: 'length' in firstHole ? firstHole.length : 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
