/**
 * XBZRLE page deltas. A delta alternates two runs until it ends: a run of
 * unchanged bytes (only its length, ULEB128) and a run of changed bytes (its
 * length, ULEB128, then the new bytes). Lengths use at most two ULEB128 bytes
 * (a page is at most 16 KiB here); only the first unchanged run may be empty,
 * and a changed run is never empty.
 */
import { ErrorCode } from '../core/errors.js';
import { PayloadProblem } from '../core/problem.js';

function uleb(src: Uint8Array, at: number): [value: number, size: number] {
  const b0 = src[at]!;
  if (!(b0 & 0x80)) return [b0, 1];
  const b1 = src[at + 1];
  if (b1 === undefined || b1 & 0x80) throw new PayloadProblem(ErrorCode.BadXbzrle, 'XBZRLE run length longer than two bytes', '< 2^14', 'more', at);
  return [(b0 & 0x7f) | (b1 << 7), 2];
}

/**
 * Apply `delta` to `page` in place (the destination's previous copy of the
 * page) and return it. Throws PayloadProblem (offset within the delta) when
 * the delta is malformed or would write outside the page.
 */
export function applyXbzrle(page: Uint8Array, delta: Uint8Array): Uint8Array {
  let i = 0;
  let d = 0;
  while (i < delta.length) {
    if (delta.length - i < 2) throw new PayloadProblem(ErrorCode.BadXbzrle, 'XBZRLE delta ends inside a run header', '>= 2 bytes', String(delta.length - i), i);
    const [same, s1] = uleb(delta, i);
    if (i > 0 && same === 0) throw new PayloadProblem(ErrorCode.BadXbzrle, 'empty unchanged run after the first', '> 0', '0', i);
    i += s1;
    d += same;
    if (d > page.length) throw new PayloadProblem(ErrorCode.BadXbzrle, 'XBZRLE unchanged run beyond the page', `<= ${page.length}`, String(d), i);
    if (delta.length - i < 2) throw new PayloadProblem(ErrorCode.BadXbzrle, 'XBZRLE delta ends inside a run header', '>= 2 bytes', String(delta.length - i), i);
    const [changed, s2] = uleb(delta, i);
    if (changed === 0) throw new PayloadProblem(ErrorCode.BadXbzrle, 'empty changed run', '> 0', '0', i);
    i += s2;
    if (d + changed > page.length || i + changed > delta.length) {
      throw new PayloadProblem(ErrorCode.BadXbzrle, 'XBZRLE changed run beyond the page or the delta', `<= ${Math.min(page.length - d, delta.length - i)}`, String(changed), i);
    }
    page.set(delta.subarray(i, i + changed), d);
    d += changed;
    i += changed;
  }
  return page;
}

function putUleb(out: number[], v: number): void {
  if (v < 0x80) out.push(v);
  else out.push((v & 0x7f) | 0x80, v >> 7);
}

/** Encode the delta that turns `oldPage` into `newPage` (for writers and fuzzers). */
export function encodeXbzrle(oldPage: Uint8Array, newPage: Uint8Array): Uint8Array {
  const out: number[] = [];
  const n = newPage.length;
  let i = 0;
  while (i < n) {
    let same = 0;
    while (i + same < n && oldPage[i + same] === newPage[i + same]) same++;
    if (i + same === n) break; // trailing unchanged bytes are implied
    let changed = 0;
    while (i + same + changed < n && oldPage[i + same + changed] !== newPage[i + same + changed]) changed++;
    putUleb(out, same);
    putUleb(out, changed);
    for (let k = 0; k < changed; k++) out.push(newPage[i + same + k]!);
    i += same + changed;
  }
  return Uint8Array.from(out);
}
