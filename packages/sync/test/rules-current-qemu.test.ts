/**
 * The rules for current QEMU (issue 15) on captures built here with the codec's encoders, in the
 * shape QEMU 10.1+ gives multifd + postcopy: the last flush in the RAM section before the
 * PACKAGED, nothing on multifd after POSTCOPY_LISTEN, PING 3 and 0x42 answered. Doctored copies
 * fail with rule, channel and byte offset, offline (checkCapture) and live (LiveChecker).
 */
import test from 'ava';
import { decodeMultifdChannel } from '@migwire/stream-codec';
import { checkCapture, LiveChecker, StreamFacts, type CheckReport, type RuleId, type RuleResult } from '../src/index.js';
import { PreemptOpenedLastRule } from '../src/rules/preempt-opened-last.js';
import { checkSynthetic as check, multifdPostcopy, pagesPacket, syncPacket, type SyntheticCapture } from './helpers/synthetic-capture.js';

function rule(r: CheckReport, id: RuleId): RuleResult {
  const x = r.rules.find((y) => y.id === id);
  if (!x) throw new Error(`no rule ${id}`);
  return x;
}

/** Where multifd channel `k`'s last SYNC starts. */
function lastSyncOffset(c: SyntheticCapture, k: number): { chunk: number; offset: number } {
  const chunk = c.chunks.findIndex((x) => x.conn === 1 + k);
  const { records } = decodeMultifdChannel(c.chunks[chunk]!.bytes);
  const last = records.filter((r) => r.kind === 'multifd-packet' && r.sync).at(-1)!;
  return { chunk, offset: last.offset };
}

test('multifd + postcopy as QEMU 10.1+ sends it: every rule holds, the postcopy ones included', async (t) => {
  const report = await check(multifdPostcopy());
  t.true(report.ok, JSON.stringify(report.rules.filter((r) => r.status === 'fail')));
  for (const id of ['decodes', 'sync-per-flush', 'no-multifd-after-postcopy', 'postcopy-final-flush', 'postcopy-ram-records', 'postcopy-package', 'ping-pong'] as const) t.is(rule(report, id).status, 'pass', id);
  t.regex(rule(report, 'postcopy-package').detail, /POSTCOPY_LISTEN, PING 3, PING 0x42, POSTCOPY_RUN; PING 3 and 0x42 answered/);
});

test('a SYNC that arrives after POSTCOPY_LISTEN but answers the last flush before it passes (a recorder reads each connection as it comes)', async (t) => {
  const c = multifdPostcopy();
  const { chunk, offset } = lastSyncOffset(c, 1);
  const bytes = c.chunks[chunk]!.bytes;
  // The channel's bytes up to its last SYNC arrive as before; the SYNC itself after the package.
  c.chunks.splice(chunk, 1, { ...c.chunks[chunk]!, bytes: bytes.subarray(0, offset) }, { conn: 2, dir: 'src2dst', t: 5.2, bytes: bytes.subarray(offset) });
  const report = await check(c);
  t.is(rule(report, 'no-multifd-after-postcopy').status, 'pass');
  t.true(report.ok, JSON.stringify(report.rules.filter((r) => r.status === 'fail')));
});

test('a SYNC moved after POSTCOPY_LISTEN (one more than the flushes before it) fails no-multifd-after-postcopy with channel and offset', async (t) => {
  const c = multifdPostcopy();
  const at = c.chunks.find((x) => x.conn === 2)!.bytes.length;
  c.chunks.push({ conn: 2, dir: 'src2dst', t: 5.3, bytes: syncPacket(100) });
  const report = await check(c);
  t.false(report.ok);
  const r = rule(report, 'no-multifd-after-postcopy');
  t.is(r.status, 'fail');
  t.is(r.channel, 'multifd 1');
  t.is(r.offset, at);
  t.regex(r.detail, /SYNC packet beyond the \d+ MULTIFD_FLUSH before POSTCOPY_LISTEN.*\(packet #100\)/);
});

test('a multifd packet after POSTCOPY_LISTEN fails no-multifd-after-postcopy and postcopy-final-flush, channel and offset', async (t) => {
  const c = multifdPostcopy();
  const at = c.chunks.find((x) => x.conn === 1)!.bytes.length;
  c.chunks.push({ conn: 1, dir: 'src2dst', t: 5.3, bytes: pagesPacket(100, 0x20000) });
  const report = await check(c);
  const late = rule(report, 'no-multifd-after-postcopy');
  t.is(late.status, 'fail');
  t.is(late.channel, 'multifd 0');
  t.is(late.offset, at);
  t.regex(late.detail, /packet with pages arrived after POSTCOPY_(LISTEN|RUN).*\(packet #100\)/);
  const flush = rule(report, 'postcopy-final-flush');
  t.is(flush.status, 'fail');
  t.is(flush.channel, 'multifd 0');
  t.is(flush.offset, at);
});

test('the final flush outside the RAM section before the package fails postcopy-final-flush on main', async (t) => {
  const r = rule(await check(multifdPostcopy({ earlyFinalFlush: true })), 'postcopy-final-flush');
  t.is(r.status, 'fail');
  t.is(r.channel, 'main');
  t.regex(r.detail, /the RAM section before POSTCOPY_LISTEN \(at byte \d+\) has no MULTIFD_FLUSH/);
});

test('PING 0x42 left unanswered fails postcopy-package', async (t) => {
  const c = multifdPostcopy();
  const rp = c.chunks.find((x) => x.dir === 'dst2src')!;
  rp.bytes = rp.bytes.subarray(0, 8); // PONG 3 only
  const r = rule(await check(c), 'postcopy-package');
  t.is(r.status, 'fail');
  t.regex(r.detail, /PING 0x42 in the package not answered/);
});

test('command 8 (ENABLE_COLO) in a stream for an 11.x machine fails removed-commands', async (t) => {
  const r = rule(await check(multifdPostcopy({ enableColo: true })), 'removed-commands');
  t.is(r.status, 'fail');
  t.is(r.channel, 'main');
  t.regex(r.detail, /command 8 \(ENABLE_COLO\) with machine type pc-q35-11\.1/);
});

test('record --check: the same rules, fed live, report a multifd packet after LISTEN as it arrives', (t) => {
  const c = multifdPostcopy();
  c.chunks.push({ conn: 1, dir: 'src2dst', t: 5.3, bytes: pagesPacket(100, 0x20000) });
  const seen: string[] = [];
  const live = new LiveChecker((v) => seen.push(`${v.id} ${v.channel} ${v.offset} t=${v.t}`));
  live.onRole(0, 'main');
  live.onRole(1, 'multifd', 0);
  live.onRole(2, 'multifd', 1);
  for (const ch of [...c.chunks].sort((a, b) => a.t - b.t)) live.onChunk(ch.conn, ch.dir, ch.bytes, ch.t);
  const at = c.chunks.find((x) => x.conn === 1)!.bytes.length;
  t.deepEqual(seen, [`no-multifd-after-postcopy multifd 0 ${at} t=5.3`]);
  const results = live.finish();
  t.is(results.find((r) => r.id === 'decodes')?.status, 'pass');
  t.false(results.some((r) => r.id === 'round-order'), 'rules that need page contents run on the finished recording');
});

test('a postcopy-preempt connection opened before a multifd channel fails preempt-opened-last', (t) => {
  const facts = new StreamFacts({ timed: true });
  for (const c of [
    { name: 'main', role: 'main', conn: 0 },
    { name: 'postcopy-preempt', role: 'postcopy-preempt', conn: 1 },
    { name: 'multifd 0', role: 'multifd', conn: 2, multifdId: 0 },
  ] as const) facts.addChannel(c);
  const r = new PreemptOpenedLastRule(facts).result();
  t.is(r.status, 'fail');
  t.is(r.channel, 'postcopy-preempt');
  t.regex(r.detail, /connection 1, opened before multifd 0 \(connection 2\)/);
});
