/**
 * pcapng files: SHB (byte order per section), IDB (link type, if_tsresol, if_tsoffset),
 * EPB, SPB and the obsolete PB; other blocks are skipped with a notice.
 */
import type { ChunkReader } from '../source.js';
import { PCAPNG_SHB } from './magic.js';
import { type FormatItem, PcapFormatError, view } from './packet.js';

const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IDB = 1;
const PB = 2;
const SPB = 3;
const EPB = 6;
const OPT_END = 0;
const OPT_TSRESOL = 9;
const OPT_TSOFFSET = 14;
const MAX_BLOCK = 64 << 20;

/** Block types that carry no packets and need no notice (NRB, ISB, DSB, custom, ...). */
const QUIET_BLOCKS = new Set([4, 5, 0x0a, 0xbad, 0x40000bad, 0x80000001]);

interface Interface {
  linkType: number;
  snapLen: number;
  /** Timestamp units per second. */
  unitsPerSecond: bigint;
  offsetSeconds: number;
}

/** Reads a pcapng file whose first 4 bytes (the SHB type) were already consumed. */
export async function* readPcapng(reader: ChunkReader): AsyncGenerator<FormatItem> {
  let little = true;
  let interfaces: Interface[] = [];
  let number = 0;
  let type = PCAPNG_SHB;
  let at = 0;
  for (;;) {
    let bodyLen: number;
    if (type === PCAPNG_SHB) {
      const head = await reader.read(8);
      if (head.length < 8) throw new PcapFormatError('section header truncated', reader.offset);
      const h = view(head);
      if (h.getUint32(4, true) === BYTE_ORDER_MAGIC) little = true;
      else if (h.getUint32(4, false) === BYTE_ORDER_MAGIC) little = false;
      else throw new PcapFormatError('pcapng byte-order magic missing', at);
      bodyLen = checkedLength(h.getUint32(0, little), at) - 12; // body after the magic, incl. trailer
      interfaces = [];
      const rest = await reader.read(bodyLen);
      if (rest.length < bodyLen) return yield truncated(at);
      checkTrailer(rest, bodyLen + 12, little, at);
    } else {
      const lenBytes = await reader.read(4);
      if (lenBytes.length < 4) return yield truncated(at);
      bodyLen = checkedLength(view(lenBytes).getUint32(0, little), at) - 8;
      const bodyAt = reader.offset;
      const body = await reader.read(bodyLen);
      if (body.length < bodyLen) return yield truncated(at);
      checkTrailer(body, bodyLen + 8, little, at);
      const b = view(body);
      if (type === IDB) {
        interfaces.push(parseInterface(body, little));
      } else if (type === EPB || type === PB || type === SPB) {
        const id = type === EPB ? b.getUint32(0, little) : type === PB ? b.getUint16(0, little) : 0;
        const iface = interfaces[id];
        number++;
        if (!iface) {
          yield { notice: { kind: 'unknown-interface', fileOffset: at, interfaceId: id } };
        } else if (type === SPB) {
          const origLen = b.getUint32(0, little);
          const capLen = Math.min(origLen, bodyLen - 8, iface.snapLen || Infinity);
          const data = body.subarray(4, 4 + capLen);
          yield { packet: { linkType: iface.linkType, interfaceId: 0, time: NaN, data, originalLength: origLen, number, fileOffset: bodyAt + 4 } };
        } else {
          const high = b.getUint32(4, little);
          const low = b.getUint32(8, little);
          const capLen = b.getUint32(12, little);
          const origLen = b.getUint32(16, little);
          if (20 + capLen > bodyLen - 4) throw new PcapFormatError('packet longer than its block', at);
          const data = body.subarray(20, 20 + capLen);
          const time = toSeconds(high, low, iface);
          yield { packet: { linkType: iface.linkType, interfaceId: id, time, data, originalLength: origLen, number, fileOffset: bodyAt + 20 } };
        }
      } else if (!QUIET_BLOCKS.has(type)) {
        yield { notice: { kind: 'unknown-block', fileOffset: at, blockType: type } };
      }
    }
    at = reader.offset;
    const next = await reader.read(4);
    if (next.length === 0) return;
    if (next.length < 4) return yield truncated(at);
    type = view(next).getUint32(0, little);
  }
}

function truncated(at: number): FormatItem {
  return { notice: { kind: 'truncated-file', fileOffset: at, message: 'block cut short' } };
}

/** A block ends with its total length again: a block whose two lengths differ is damaged (the next one would be read from the wrong place). */
function checkTrailer(body: Uint8Array, total: number, little: boolean, at: number): void {
  const end = view(body).getUint32(body.length - 4, little);
  if (end !== total) throw new PcapFormatError(`block length ${total} at its start but ${end} at its end`, at);
}

function checkedLength(total: number, at: number): number {
  if (total < 12 || total % 4 !== 0 || total > MAX_BLOCK) throw new PcapFormatError(`bad block length ${total}`, at);
  return total;
}

function parseInterface(body: Uint8Array, little: boolean): Interface {
  const b = view(body);
  const iface: Interface = {
    linkType: b.getUint16(0, little),
    snapLen: b.getUint32(4, little),
    unitsPerSecond: 1_000_000n,
    offsetSeconds: 0,
  };
  let p = 8;
  const end = body.length - 4; // trailing total length
  while (p + 4 <= end) {
    const code = b.getUint16(p, little);
    const len = b.getUint16(p + 2, little);
    if (code === OPT_END) break;
    const value = p + 4;
    if (code === OPT_TSRESOL && len >= 1) {
      const r = body[value]!;
      iface.unitsPerSecond = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
    } else if (code === OPT_TSOFFSET && len >= 8) {
      iface.offsetSeconds = Number(b.getBigInt64(value, little));
    }
    p = value + ((len + 3) & ~3);
  }
  return iface;
}

function toSeconds(high: number, low: number, iface: Interface): number {
  const units = (BigInt(high) << 32n) | BigInt(low);
  const whole = units / iface.unitsPerSecond;
  const frac = units % iface.unitsPerSecond;
  return Number(whole) + iface.offsetSeconds + Number(frac) / Number(iface.unitsPerSecond);
}
