/**
 * A capture directory written as the libpcap file (raw IPv4) tcpdump would have made of it: per
 * connection a handshake at its accept time, a packet per chunks.csv row (both directions, at the
 * row's time), FINs at the end. Lets replay tests compare a pcap with the recording it came from.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ipPacket, writeRawPcap, type RawPacket } from './raw-pcap.js';
const SEGMENT = 60_000;
const SYN = 0x02;
const FIN = 0x01;
const ACK = 0x10;
const PSH = 0x08;

function connectionBytes(dir: string, conn: number, d: string): Buffer {
  const base = join(dir, `conn${String(conn).padStart(2, '0')}.${d}.bin`);
  try {
    return gunzipSync(readFileSync(`${base}.gz`));
  } catch {
    return readFileSync(base);
  }
}

export function captureToPcap(dir: string): Buffer {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { connections: Array<{ id: number; accepted_at: number }> };
  const rows = readFileSync(join(dir, 'chunks.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const packets: RawPacket[] = [];
  const ISN = 1000;
  for (const c of index.connections) {
    const cport = 40000 + c.id;
    const at = c.accepted_at;
    packets.push({ t: at, ip: ipPacket(cport, 4444, ISN, SYN) }, { t: at, ip: ipPacket(4444, cport, ISN, SYN | ACK) }, { t: at, ip: ipPacket(cport, 4444, ISN + 1, ACK) });
    let last = at;
    for (const d of ['src2dst', 'dst2src']) {
      const bytes = connectionBytes(dir, c.id, d);
      const [sport, dport] = d === 'src2dst' ? [cport, 4444] : [4444, cport];
      for (const [, t, conn, dd, offset, len] of rows) {
        if (Number(conn) !== c.id || dd !== d) continue;
        for (let o = Number(offset); o < Number(offset) + Number(len); o += SEGMENT) {
          const end = Math.min(o + SEGMENT, Number(offset) + Number(len));
          packets.push({ t: Number(t), ip: ipPacket(sport, dport, ISN + 1 + o, PSH | ACK, bytes.subarray(o, end)) });
        }
        last = Math.max(last, Number(t));
      }
    }
    for (const [sport, dport, d] of [[cport, 4444, 'src2dst'], [4444, cport, 'dst2src']] as const) {
      packets.push({ t: last + 0.001, ip: ipPacket(sport, dport, ISN + 1 + connectionBytes(dir, c.id, d).length, FIN | ACK) });
    }
  }
  packets.sort((a, b) => a.t - b.t);
  return writeRawPcap(packets);
}
