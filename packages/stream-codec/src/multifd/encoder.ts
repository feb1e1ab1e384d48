/** Multifd records back to bytes (byte-exact for decoded records; zero-filled areas for new ones). */
import { latin1ToBytes, writeU32, writeU64 } from '../core/bytes.js';
import { MULTIFD_DEVICE_STATE_HEADER_SIZE, MULTIFD_INIT_SIZE, MULTIFD_PACKET_SIZE, MULTIFD_RAM_HEADER_SIZE } from './constants.js';
import type { MultifdDeviceStatePacketRecord, MultifdInitRecord, MultifdRamPacketRecord, MultifdRecord } from './records.js';

type Unpositioned<T> = Omit<T, 'offset' | 'length'>;
export type MultifdRecordInput =
  | Unpositioned<MultifdInitRecord>
  | Unpositioned<MultifdRamPacketRecord>
  | Unpositioned<MultifdDeviceStatePacketRecord>;

export function encodeMultifdRecordParts(r: MultifdRecordInput | MultifdRecord, targetPageSize = 4096): Uint8Array[] {
  switch (r.kind) {
    case 'multifd-init': {
      const b = new Uint8Array(MULTIFD_INIT_SIZE);
      writeU32(b, 0, r.magic);
      writeU32(b, 4, r.version);
      b.set(r.uuid.subarray(0, 16), 8);
      b[24] = r.channelId;
      b.set(r.reserved.subarray(0, 39), 25);
      return [b];
    }
    case 'multifd-packet': {
      const head = MULTIFD_RAM_HEADER_SIZE + 8 * (MULTIFD_PACKET_SIZE / targetPageSize);
      const b = new Uint8Array(head);
      writeU32(b, 0, r.magic);
      writeU32(b, 4, r.version);
      writeU32(b, 8, r.flags);
      writeU32(b, 12, r.pagesAlloc);
      writeU32(b, 16, r.normalPages);
      writeU32(b, 20, r.nextPacketSize);
      writeU64(b, 24, r.packetNum);
      if (r.raw) {
        b.set(r.raw.reserved, 32);
        b.set(r.raw.ramblock, 64);
        b.set(r.raw.offsets, 320);
      } else {
        b.set(latin1ToBytes(r.block).subarray(0, 255), 64);
      }
      // Fields always win over the raw copies, so an edited record encodes as edited.
      if (r.layout === '10.0') writeU32(b, 32, r.zeroPages);
      let at = 320;
      for (const o of r.normalOffsets) writeU64(b, (at += 8) - 8, o);
      for (const o of r.zeroOffsets) writeU64(b, (at += 8) - 8, o);
      return [b, r.payload];
    }
    case 'multifd-device-state': {
      const b = new Uint8Array(MULTIFD_DEVICE_STATE_HEADER_SIZE);
      writeU32(b, 0, r.magic);
      writeU32(b, 4, r.version);
      writeU32(b, 8, r.flags);
      if (r.raw) b.set(r.raw.idstr, 12);
      else b.set(latin1ToBytes(r.idstr).subarray(0, 255), 12);
      writeU32(b, 268, r.instanceId);
      writeU32(b, 272, r.nextPacketSize);
      return [b, r.payload];
    }
  }
}

export function encodeMultifdRecord(r: MultifdRecordInput | MultifdRecord, targetPageSize = 4096): Uint8Array {
  const parts = encodeMultifdRecordParts(r, targetPageSize);
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
