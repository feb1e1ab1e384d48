/** Tiny libpcap and pcapng writers for crafted test captures. */
import { concat } from './frames.js';

export interface PcapRecord {
  /** Seconds and fraction (micro- or nanoseconds per the file's magic). */
  sec: number;
  frac: number;
  data: Uint8Array;
  /** Wire length (defaults to data.length; larger simulates a snaplen cut). */
  origLen?: number;
}

export function writePcap(
  records: PcapRecord[],
  { linkType = 1, littleEndian = true, nanos = false, snaplen = 262144 } = {},
): Uint8Array {
  const head = new Uint8Array(24);
  const v = new DataView(head.buffer);
  v.setUint32(0, nanos ? 0xa1b23c4d : 0xa1b2c3d4, littleEndian);
  v.setUint16(4, 2, littleEndian);
  v.setUint16(6, 4, littleEndian);
  v.setUint32(16, snaplen, littleEndian);
  v.setUint32(20, linkType, littleEndian);
  const parts: Uint8Array[] = [head];
  for (const r of records) {
    const h = new Uint8Array(16);
    const hv = new DataView(h.buffer);
    hv.setUint32(0, r.sec, littleEndian);
    hv.setUint32(4, r.frac, littleEndian);
    hv.setUint32(8, r.data.length, littleEndian);
    hv.setUint32(12, r.origLen ?? r.data.length, littleEndian);
    parts.push(h, r.data);
  }
  return concat(parts);
}

export interface NgInterface {
  linkType: number;
  /** Raw if_tsresol byte (absent: microseconds). */
  tsresol?: number;
  snaplen?: number;
}

export type NgBlock =
  | { kind: 'epb'; iface: number; units: bigint; data: Uint8Array; origLen?: number }
  | { kind: 'spb'; data: Uint8Array; origLen?: number }
  | { kind: 'raw'; type: number; body: Uint8Array };

export function writePcapngSection(
  interfaces: NgInterface[],
  blocks: NgBlock[],
  { littleEndian = true } = {},
): Uint8Array {
  const parts: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array): void => {
    const padded = new Uint8Array((body.length + 3) & ~3);
    padded.set(body);
    const total = padded.length + 12;
    const h = new Uint8Array(8);
    const t = new Uint8Array(4);
    new DataView(h.buffer).setUint32(0, type, littleEndian);
    new DataView(h.buffer).setUint32(4, total, littleEndian);
    new DataView(t.buffer).setUint32(0, total, littleEndian);
    parts.push(h, padded, t);
  };
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, 0x1a2b3c4d, littleEndian);
  sv.setUint16(4, 1, littleEndian);
  sv.setBigInt64(8, -1n, littleEndian);
  block(0x0a0d0d0a, shb);
  for (const i of interfaces) {
    const body = new Uint8Array(i.tsresol === undefined ? 12 : 20);
    const v = new DataView(body.buffer);
    v.setUint16(0, i.linkType, littleEndian);
    v.setUint32(4, i.snaplen ?? 0, littleEndian);
    if (i.tsresol !== undefined) {
      v.setUint16(8, 9, littleEndian);
      v.setUint16(10, 1, littleEndian);
      body[12] = i.tsresol;
      // then opt_endofopt (4 zero bytes at 16)
    }
    block(1, body);
  }
  for (const b of blocks) {
    if (b.kind === 'raw') {
      block(b.type, b.body);
    } else if (b.kind === 'spb') {
      const h = new Uint8Array(4);
      new DataView(h.buffer).setUint32(0, b.origLen ?? b.data.length, littleEndian);
      block(3, concat([h, b.data]));
    } else {
      const h = new Uint8Array(20);
      const v = new DataView(h.buffer);
      v.setUint32(0, b.iface, littleEndian);
      v.setUint32(4, Number(b.units >> 32n), littleEndian);
      v.setUint32(8, Number(b.units & 0xffffffffn), littleEndian);
      v.setUint32(12, b.data.length, littleEndian);
      v.setUint32(16, b.origLen ?? b.data.length, littleEndian);
      block(6, concat([h, b.data]));
    }
  }
  return concat(parts);
}

/** The bytes as an async source, in chunks of `chunk` bytes (to exercise incremental reading). */
export async function* chunked(bytes: Uint8Array, chunk = 1 << 16): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
}
