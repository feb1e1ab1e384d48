/**
 * 64-bit wire values beyond 2^53 (bigints from the codec) never crash a rule: packet numbers are
 * ordered exactly, a page request beyond every block is reported unanswered with its exact start.
 */
import test from 'ava';
import { ReturnPathMessage, encodeReturnPathRecord } from '@migwire/stream-codec';
import { writeU64 } from '@migwire/stream-codec/internal';
import type { CheckReport, RuleId, RuleResult } from '../src/index.js';
import { checkSynthetic as check, multifdPostcopy, syncPacket } from './helpers/synthetic-capture.js';

const rule = (r: CheckReport, id: RuleId): RuleResult => r.rules.find((y) => y.id === id)!;

test('a REQ_PAGES for start 2^63+1 fails page-requests-served with the exact start', async (t) => {
  const c = multifdPostcopy();
  const start = 2n ** 63n + 1n;
  const payload = new Uint8Array(12);
  writeU64(payload, 0, start);
  payload[10] = 0x10;
  c.chunks.push({ conn: 0, dir: 'dst2src', t: 5.6, bytes: Buffer.from(encodeReturnPathRecord({ kind: 'rp-message', type: ReturnPathMessage.ReqPages, name: 'REQ_PAGES', payload, args: { message: 'REQ_PAGES', start, length: 4096 } })) });
  const report = await check(c);
  const r = rule(report, 'page-requests-served');
  t.is(r.status, 'fail');
  t.true(r.detail.includes('+0x8000000000000001'), r.detail);
  t.notThrows(() => JSON.stringify(report));
});

test('a SYNC numbered 2^60+3 then one numbered 7 fails packet-numbers, both numbers exact', async (t) => {
  const c = multifdPostcopy();
  c.chunks.push({ conn: 1, dir: 'src2dst', t: 2.5, bytes: Buffer.concat([syncPacket(2n ** 60n + 3n), syncPacket(7)]) });
  const report = await check(c);
  const r = rule(report, 'packet-numbers');
  t.is(r.status, 'fail');
  t.true(r.detail.includes('packet #7') && r.detail.includes('#1152921504606846979'), r.detail);
  t.notThrows(() => JSON.stringify(report));
});
