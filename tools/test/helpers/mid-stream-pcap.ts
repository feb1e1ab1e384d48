/**
 * A libpcap file (raw IPv4) of one TCP connection captured without its SYN: the source's bytes from
 * `cut` on, 1448 a segment, then a FIN. What tcpdump writes when started in the middle of a migration.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeMainStream } from '@migwire/stream-codec';
import { FIXTURES } from '../paths.js';
import { ipPacket, writeRawPcap, type RawPacket } from './raw-pcap.js';

const MSS = 1448;

export function midStreamPcap(stream: Uint8Array, cut: number): Buffer {
  const isn = 1000;
  const packets: RawPacket[] = [];
  for (let off = cut; off < stream.length; off += MSS) packets.push({ t: packets.length * 10e-6, ip: ipPacket(45678, 4444, isn + 1 + off, 0x18, stream.subarray(off, Math.min(off + MSS, stream.length))) });
  packets.push({ t: packets.length * 10e-6, ip: ipPacket(45678, 4444, isn + 1 + stream.length, 0x11) });
  return writeRawPcap(packets);
}

/** The fixture the mid-stream tests share: a pcap of 10.0-precopy-file cut inside a page a third of the way in. */
export interface MidStreamFixture {
  /** The whole stream (what the pcap lost the start of). */
  stream: Buffer;
  /** First captured byte. */
  cut: number;
  /** Captured bytes before the first RAM record (where decoding starts). */
  skipped: number;
  /** The pcap file. */
  path: string;
}

export function midStreamFixture(): MidStreamFixture {
  const stream = gunzipSync(readFileSync(join(FIXTURES, '10.0-precopy-file', 'stream.bin.gz')));
  const pages = decodeMainStream(stream).records.filter((r) => r.kind === 'ram-page');
  const cut = pages[Math.floor(pages.length / 3)]!.offset + 1234; // inside a page's payload
  const skipped = pages.find((r) => r.offset >= cut)!.offset - cut;
  const path = join(mkdtempSync(join(tmpdir(), 'mw-midstream-')), 'mid.pcap');
  writeFileSync(path, midStreamPcap(stream, cut));
  return { stream, cut, skipped, path };
}
