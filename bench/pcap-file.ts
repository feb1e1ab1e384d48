/**
 * A capture directory's source-to-destination streams written as one libpcap file (Ethernet,
 * IPv4, TCP, 64 KiB segments as on loopback), so `import`/`dump` of the pcap can be timed against
 * `dump` of the directory on the same bytes. Every connection opens first (SYN handshakes) and
 * closes last (FINs): their times overlap, as in a migration.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';

const SEGMENT = 65_000;
const LINKTYPE_ETHERNET = 1;

function frame(conn: number, fromSource: boolean, seq: number, ack: number, flags: number, payload: Uint8Array, usec: number): Buffer {
  const len = 14 + 20 + 20 + payload.length;
  const b = Buffer.alloc(16 + len);
  b.writeUInt32LE(Math.floor(usec / 1e6), 0);
  b.writeUInt32LE(usec % 1e6, 4);
  b.writeUInt32LE(len, 8);
  b.writeUInt32LE(len, 12);
  b.writeUInt16BE(0x0800, 16 + 12);
  const ip = 16 + 14;
  b[ip] = 0x45;
  b.writeUInt16BE(20 + 20 + payload.length, ip + 2);
  b[ip + 8] = 64;
  b[ip + 9] = 6;
  const [src, dst] = fromSource ? [0x7f000002, 0x7f000001] : [0x7f000001, 0x7f000002];
  b.writeUInt32BE(src, ip + 12);
  b.writeUInt32BE(dst, ip + 16);
  const tcp = ip + 20;
  const [sport, dport] = fromSource ? [40000 + conn, 4444] : [4444, 40000 + conn];
  b.writeUInt16BE(sport, tcp);
  b.writeUInt16BE(dport, tcp + 2);
  b.writeUInt32BE(seq >>> 0, tcp + 4);
  b.writeUInt32BE(ack >>> 0, tcp + 8);
  b[tcp + 12] = 5 << 4;
  b[tcp + 13] = flags;
  b.writeUInt16BE(65535, tcp + 14);
  b.set(payload, tcp + 20);
  return b;
}

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const PSH = 0x08;

/** Write `files` (connection N's source-to-destination bytes) as one pcap; resolves to its payload bytes. */
export async function writePcapOf(files: string[], out: string): Promise<number> {
  const ws = createWriteStream(out, { highWaterMark: 4 << 20 });
  const write = async (b: Buffer): Promise<void> => {
    if (!ws.write(b)) await once(ws, 'drain');
  };
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  await write(header);
  let usec = 1_700_000_000 * 1e6;
  const none = new Uint8Array(0);
  const seq = files.map(() => 1);
  for (let c = 0; c < files.length; c++) {
    await write(frame(c, true, 0, 0, SYN, none, usec++));
    await write(frame(c, false, 0, 1, SYN | ACK, none, usec++));
    await write(frame(c, true, 1, 1, ACK, none, usec++));
  }
  let total = 0;
  for (let c = 0; c < files.length; c++) {
    let pending: Buffer = Buffer.alloc(0);
    for await (const chunk of createReadStream(files[c]!, { highWaterMark: 1 << 20 })) {
      pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
      let at = 0;
      for (; pending.length - at >= SEGMENT; at += SEGMENT) {
        await write(frame(c, true, seq[c]!, 1, ACK | PSH, pending.subarray(at, at + SEGMENT), usec++));
        seq[c]! += SEGMENT;
      }
      pending = pending.subarray(at);
    }
    if (pending.length) await write(frame(c, true, seq[c]!, 1, ACK | PSH, pending, usec++));
    seq[c]! += pending.length;
    total += seq[c]! - 1;
  }
  for (let c = 0; c < files.length; c++) {
    await write(frame(c, true, seq[c]!, 1, FIN | ACK, none, usec++));
    await write(frame(c, false, 1, seq[c]! + 1, FIN | ACK, none, usec++));
    await write(frame(c, true, seq[c]! + 1, 2, ACK, none, usec++));
  }
  ws.end();
  await once(ws, 'finish');
  return total;
}
