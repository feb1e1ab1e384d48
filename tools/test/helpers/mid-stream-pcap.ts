/**
 * A libpcap file (raw IPv4) of one TCP connection captured without its SYN: the source's bytes from
 * `cut` on, 1448 a segment, then a FIN. What tcpdump writes when started in the middle of a migration.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LinkType } from '@migwire/pcap';
import { decodeMainStream } from '@migwire/stream-codec';
import { FIXTURES } from '../paths.js';

const MSS = 1448;

function packet(seq: number, flags: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(40 + payload.length);
  const v = new DataView(p.buffer);
  v.setUint8(0, 0x45);
  v.setUint16(2, p.length);
  v.setUint16(6, 0x4000);
  v.setUint8(8, 64);
  v.setUint8(9, 6);
  p.set([127, 0, 0, 1], 12);
  p.set([127, 0, 0, 1], 16);
  v.setUint16(20, 45678);
  v.setUint16(22, 4444);
  v.setUint32(24, seq >>> 0);
  v.setUint32(28, 1);
  v.setUint8(32, 0x50);
  v.setUint8(33, flags);
  v.setUint16(34, 65535);
  p.set(payload, 40);
  return p;
}

export function midStreamPcap(stream: Uint8Array, cut: number): Buffer {
  const isn = 1000;
  const packets: Uint8Array[] = [];
  for (let off = cut; off < stream.length; off += MSS) packets.push(packet(isn + 1 + off, 0x18, stream.subarray(off, Math.min(off + MSS, stream.length))));
  packets.push(packet(isn + 1 + stream.length, 0x11, new Uint8Array(0)));
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(LinkType.Raw, 20);
  parts.push(head);
  packets.forEach((p, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000, 0);
    rec.writeUInt32LE(i * 10, 4);
    rec.writeUInt32LE(p.length, 8);
    rec.writeUInt32LE(p.length, 12);
    parts.push(rec, Buffer.from(p));
  });
  return Buffer.concat(parts);
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
