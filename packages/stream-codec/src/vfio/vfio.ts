/**
 * VFIO device-state sections: a run of be64 delimiters 0xffffffffef1000NN,
 * DEV_DATA_STATE followed by a be64 size and that many bytes, DEV_CONFIG_STATE
 * followed by opaque config bytes up to the next END_OF_STATE.
 */
import { VFIO_FLAG_HI, VFIO_FLAG_NAMES, VfioFlag } from '../core/constants.js';
import { ErrorCode } from '../core/errors.js';
import { PayloadProblem } from '../core/problem.js';
import { readU32, readU64Exact } from '../core/bytes.js';

export interface VfioItem {
  /** Offset of the delimiter within the section data. */
  at: number;
  flag: number;
  name: string;
  /** DEV_DATA_STATE payload or DEV_CONFIG_STATE config bytes. */
  data?: Uint8Array;
}

export function isVfioIdstr(idstr: string): boolean {
  return idstr.endsWith('/vfio') || idstr === 'vfio';
}

/** Split a framed VFIO section body into its items; throws PayloadProblem when malformed. */
export function decodeVfioItems(body: Uint8Array): VfioItem[] {
  const items: VfioItem[] = [];
  let at = 0;
  while (at < body.length) {
    if (at + 8 > body.length) throw new PayloadProblem(ErrorCode.BadVfio, 'VFIO delimiter truncated', '8 bytes', String(body.length - at), at);
    const hi = readU32(body, at);
    const lo = readU32(body, at + 4);
    const name = VFIO_FLAG_NAMES[lo];
    if (hi !== VFIO_FLAG_HI || name === undefined) {
      throw new PayloadProblem(ErrorCode.BadVfio, 'not a VFIO delimiter', '0xffffffffef1000NN', '0x' + hi.toString(16) + lo.toString(16).padStart(8, '0'), at);
    }
    const item: VfioItem = { at, flag: lo, name };
    at += 8;
    if (lo === VfioFlag.DevDataState) {
      if (at + 8 > body.length) throw new PayloadProblem(ErrorCode.BadVfio, 'VFIO data size truncated', '8 bytes', String(body.length - at), at);
      const exact = readU64Exact(body, at);
      at += 8;
      if (typeof exact === 'bigint' || exact > body.length - at) throw new PayloadProblem(ErrorCode.BadVfio, 'VFIO data size beyond section', `<= ${body.length - at}`, String(exact), at - 8);
      const size = exact;
      item.data = body.subarray(at, at + size);
      at += size;
    } else if (lo === VfioFlag.DevConfigState) {
      const end = findEndOfState(body, at);
      if (end < 0) throw new PayloadProblem(ErrorCode.BadVfio, 'VFIO config state without END_OF_STATE', 'END_OF_STATE', 'end of section', at);
      item.data = body.subarray(at, end);
      at = end;
    }
    items.push(item);
  }
  return items;
}

function findEndOfState(b: Uint8Array, from: number): number {
  for (let i = b.indexOf(0xff, from); i >= 0 && i + 8 <= b.length; i = b.indexOf(0xff, i + 1)) {
    if (readU32(b, i) === VFIO_FLAG_HI && readU32(b, i + 4) === VfioFlag.EndOfState) return i;
  }
  return -1;
}
