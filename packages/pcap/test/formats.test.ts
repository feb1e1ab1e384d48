import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { type CapturedPacket, type FormatNotice, fileSource, LinkType, PcapFormatError, readPackets } from '../src/index.js';
import { pattern } from './helpers/frames.js';
import { chunked, writePcap, writePcapngSection } from './helpers/writers.js';

async function read(bytes: Uint8Array, chunk?: number) {
  const packets: CapturedPacket[] = [];
  const notices: FormatNotice[] = [];
  for await (const item of readPackets(chunked(bytes, chunk))) {
    if ('packet' in item) packets.push({ ...item.packet, data: item.packet.data.slice() });
    else notices.push(item.notice);
  }
  return { packets, notices };
}

const frames = [pattern(60, 1), pattern(1514, 2), pattern(100, 3)];

for (const littleEndian of [true, false]) {
  for (const nanos of [false, true]) {
    test(`libpcap ${littleEndian ? 'little' : 'big'}-endian, ${nanos ? 'nanosecond' : 'microsecond'} timestamps`, async (t) => {
      const file = writePcap(
        frames.map((data, i) => ({ sec: 1_700_000_000 + i, frac: nanos ? 123_456_789 : 123_456, data })),
        { littleEndian, nanos, linkType: LinkType.Ethernet },
      );
      for (const chunk of [1, 7, 1 << 16]) {
        const { packets, notices } = await read(file, chunk);
        t.deepEqual(notices, []);
        t.deepEqual(
          packets.map((p) => p.data),
          frames,
        );
        t.is(packets[1]!.linkType, LinkType.Ethernet);
        t.is(packets[2]!.number, 3);
        const expected = 1_700_000_002 + (nanos ? 0.123456789 : 0.123456);
        t.true(Math.abs(packets[2]!.time - expected) < 1e-6);
      }
    });
  }
}

test('pcapng: two interfaces with their own if_tsresol and link type, byte order per section, SPB, unknown blocks', async (t) => {
  const section1 = writePcapngSection(
    [{ linkType: LinkType.Ethernet, tsresol: 9 }, { linkType: LinkType.LinuxSll, tsresol: 0x80 | 10 }],
    [
      { kind: 'epb', iface: 0, units: 1_700_000_000_250_000_000n, data: frames[0]! },
      { kind: 'raw', type: 0x1234, body: new Uint8Array(8) },
      { kind: 'epb', iface: 1, units: 1_700_000_001n * 1024n + 512n, data: frames[1]! },
    ],
    { littleEndian: true },
  );
  const section2 = writePcapngSection(
    [{ linkType: LinkType.Raw, snaplen: 50 }],
    [
      { kind: 'epb', iface: 0, units: 1_700_000_002_000_001n, data: frames[2]! },
      { kind: 'spb', data: frames[0]!.subarray(0, 50), origLen: 60 },
    ],
    { littleEndian: false },
  );
  const { packets, notices } = await read(new Uint8Array([...section1, ...section2]), 5);
  t.deepEqual(
    packets.map((p) => [p.linkType, p.interfaceId, p.data.length, p.originalLength]),
    [
      [LinkType.Ethernet, 0, 60, 60],
      [LinkType.LinuxSll, 1, 1514, 1514],
      [LinkType.Raw, 0, 100, 100],
      [LinkType.Raw, 0, 50, 60],
    ],
  );
  t.true(Math.abs(packets[0]!.time - 1_700_000_000.25) < 1e-6);
  t.true(Math.abs(packets[1]!.time - 1_700_000_001.5) < 1e-6);
  t.true(Math.abs(packets[2]!.time - 1_700_000_002.000001) < 1e-6);
  t.deepEqual(packets[1]!.data, frames[1]);
  t.deepEqual(notices, [{ kind: 'unknown-block', fileOffset: notices[0]!.fileOffset, blockType: 0x1234 }]);
});

test('a file cut in the middle of a packet reads up to it and says so', async (t) => {
  const file = writePcap(frames.map((data, i) => ({ sec: i, frac: 0, data })));
  const { packets, notices } = await read(file.subarray(0, file.length - 10));
  t.is(packets.length, 2);
  t.is(notices[0]!.kind, 'truncated-file');
});

test('a file that is no capture is a PcapFormatError', async (t) => {
  await t.throwsAsync(read(new TextEncoder().encode('QEVM not a pcap')), { instanceOf: PcapFormatError });
});

test('fileSource gunzips a gzip-compressed capture and can be read twice', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pcap-test-'));
  const file = writePcap(frames.map((data, i) => ({ sec: i, frac: 0, data })));
  const path = join(dir, 'x.pcap.gz');
  await writeFile(path, gzipSync(file));
  const open = fileSource(path);
  for (let pass = 0; pass < 2; pass++) {
    let n = 0;
    for await (const item of readPackets(open())) if ('packet' in item) n++;
    t.is(n, 3);
  }
});

// Found by a sweep: a block whose trailing length differs from its leading one was read on.
test('pcapng: a block whose length at its end differs from its length at its start is a PcapFormatError at that block', async (t) => {
  const file = writePcapngSection([{ linkType: LinkType.Ethernet }], [{ kind: 'epb', iface: 0, units: 1n, data: frames[0]! }, { kind: 'epb', iface: 0, units: 2n, data: frames[1]! }]);
  t.true((await read(file)).packets.length === 2, 'intact: both packets');
  const bad = Buffer.from(file);
  // The last block's trailing length: the file's last 4 bytes.
  bad.writeUInt32LE(bad.readUInt32LE(bad.length - 4) + 4, bad.length - 4);
  await t.throwsAsync(read(bad), { instanceOf: PcapFormatError, message: /block length \d+ at its start but \d+ at its end/ });
});
