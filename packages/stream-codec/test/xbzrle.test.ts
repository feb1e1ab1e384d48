import test from 'ava';
import { applyXbzrle, CodecError, encodeXbzrle, ErrorCode } from '../src/index.js';
import { rng } from './feed.js';

test('encode then apply reproduces the new page, for random edits', (t) => {
  const random = rng(3);
  for (let k = 0; k < 200; k++) {
    const old = new Uint8Array(4096).map(() => Math.floor(random() * 4));
    const neu = Uint8Array.from(old);
    const edits = Math.floor(random() * 300);
    for (let e = 0; e < edits; e++) neu[Math.floor(random() * 4096)] = Math.floor(random() * 256);
    const delta = encodeXbzrle(old, neu);
    t.deepEqual(applyXbzrle(Uint8Array.from(old), delta), neu);
  }
});

test('an unchanged page encodes to nothing, and a one-byte change to a short delta', (t) => {
  const page = new Uint8Array(4096).fill(5);
  t.is(encodeXbzrle(page, page).length, 0);
  const neu = Uint8Array.from(page);
  neu[2000] = 6;
  const d = encodeXbzrle(page, neu);
  t.deepEqual([...d], [0xd0, 0x0f, 1, 6]); // 2000 unchanged (2-byte ULEB128), 1 changed: 6
});

test('malformed deltas are BAD_XBZRLE, not a write outside the page', (t) => {
  const bad: number[][] = [
    [0x80, 0x40, 1, 1], // unchanged run of 8192: beyond the page
    [0, 0], // empty changed run
    [5], // ends inside a run header
    [1, 1, 9, 0, 1, 1], // empty unchanged run after the first
    [0, 5, 1, 2], // changed run longer than the delta
    [0xff, 0xff, 0x7f], // three-byte ULEB128
  ];
  for (const d of bad) {
    const e = t.throws(() => applyXbzrle(new Uint8Array(4096), Uint8Array.from(d)), { instanceOf: CodecError }, JSON.stringify(d));
    t.is(e?.code, ErrorCode.BadXbzrle);
  }
});
