import test from 'ava';
import { openCapture } from '@migwire/capture';
import { decodeReturnPath } from '@migwire/stream-codec';
import { analyzeCapture, renderReport } from '../src/index.js';
import { fixture, sourceQmp } from './fixtures.js';

async function channelBytes(path: string, role: string): Promise<Uint8Array> {
  const ch = (await openCapture(path)).channels.find((c) => c.role === role)!;
  const parts: Uint8Array[] = [];
  for await (const p of ch.open()) parts.push(p);
  return Buffer.concat(parts);
}

test('multifd 4 + zlib: the 13 rounds of `migwire check`, the first one split over the channels as it counts them', async (t) => {
  const a = await analyzeCapture(fixture('10.0-multifd4-zlib'), { qmpPath: sourceQmp('10.0-multifd4-zlib') });
  t.is(a.headline.release, '10.0');
  t.is(a.headline.machine, 'pc-q35-10.0');
  t.is(a.headline.capabilities.multifd, 4);
  t.is(a.headline.capabilities.multifdCompression, 'zlib');
  t.true(a.headline.completed);
  t.is(a.rounds.length, 13);
  t.deepEqual(a.rounds[0]!.perChannel, { 'multifd 0': 4640, 'multifd 1': 2432, 'multifd 2': 546, 'multifd 3': 704 });
  // The guest rewrites its 1024-page pattern every round: each later round re-sends exactly those.
  for (const r of a.rounds.slice(1)) t.deepEqual([r.pages, r.resentPages], [1024, 1024]);
  t.is(a.hotPages.resentPages, 1024);
  t.is(a.hotPages.blocks[0]!.block, 'pc.ram');
  // The transcript holds the limit at 1 ms, then the harness raises it to 2 s: the model follows it.
  t.is(a.switchover.downtimeLimitSource, 'qmp');
  t.is(a.switchover.steps[0]!.downtimeLimitMs, 1);
  t.is(a.switchover.steps.at(-1)!.downtimeLimitMs, 2000);
  t.is(a.switchover.steps.at(-1)!.qemu, 'switchover');
  t.is(a.switchover.qemuOutcome?.status, 'completed');
  // Numbered as check numbers them (by SYNC); the count of rounds with pages says it is not the last number.
  t.regex(a.switchover.explanation, /^Converged after 13 rounds with pages \(numbered by SYNC, 1 to 25\): after round 23 /);
  t.true(a.timeline.series.some((s) => s.channel === 'multifd 3' && s.values.some((v) => v > 0)));
});

test('postcopy-preempt: every REQ_PAGES(_ID) on the return path is a request, each served on the preempt channel', async (t) => {
  const path = fixture('10.0-g-postcopy-preempt');
  const a = await analyzeCapture(path, { qmpPath: sourceQmp('10.0-g-postcopy-preempt') });
  const rp = decodeReturnPath(await channelBytes(path, 'return-path')).records;
  const requests = rp.filter((r) => r.kind === 'rp-message' && (r.name === 'REQ_PAGES' || r.name === 'REQ_PAGES_ID')).length;
  t.true(requests > 100);
  const p = a.postcopy!;
  t.is(p.requestCount, requests);
  t.is(a.returnPath.counts['REQ_PAGES']! + a.returnPath.counts['REQ_PAGES_ID']!, requests);
  t.is(p.servedCount, requests);
  t.is(p.requests.filter((q) => q.latencyMs !== undefined).length + p.arrivedBeforeRequest, requests);
  t.true(p.pagesOnPreempt > 0);
  t.true(p.latencyMs!.median >= 0 && p.latencyMs!.median <= p.latencyMs!.max);
  t.is(p.histogram.counts.reduce((s, n) => s + n, 0), requests - p.arrivedBeforeRequest);
  t.true(a.headline.capabilities.postcopy && a.headline.capabilities.preempt && a.headline.capabilities.returnPath);
  t.is(a.rounds.length, 5);
  t.is(a.switchover.steps.at(-1)!.qemu, 'postcopy');
  t.regex(a.switchover.explanation, /^Switched to postcopy after 5 precopy rounds/);
  const kinds = new Set(a.timeline.markers.map((m) => m.kind));
  for (const k of ['switchover-start', 'postcopy-listen', 'postcopy-run', 'end', 'return-path', 'round'] as const) t.true(kinds.has(k), k);
});

test('xbzrle to a file: no clock, so the timeline is in MiB of the stream; the last round travels as XBZRLE', async (t) => {
  const a = await analyzeCapture(fixture('10.0-xbzrle-exec'), { qmpPath: sourceQmp('10.0-xbzrle-exec') });
  t.is(a.timeline.unit, 'MiB');
  t.is(a.headline.durationSeconds, undefined);
  t.true(a.headline.capabilities.xbzrle);
  t.is(a.rounds.length, 5);
  t.is(a.rounds.at(-1)!.xbzrlePages, a.rounds.at(-1)!.pages);
  t.is(a.switchover.steps.at(-1)!.qemu, 'switchover');
});

test('switchover-ack and zstd: the ACK is seen on the return path; 24 rounds of multifd zstd', async (t) => {
  const ack = await analyzeCapture(fixture('10.0-switchover-ack'));
  t.true(ack.headline.capabilities.switchoverAck);
  t.is(ack.returnPath.counts['SWITCHOVER_ACK'], 1);
  t.is(ack.rounds.length, 6);
  // No transcript: the default limit is assumed, and the sentence says so.
  t.is(ack.switchover.downtimeLimitSource, 'assumed');
  t.regex(ack.switchover.explanation, /300 ms assumed/);
  const zstd = await analyzeCapture(fixture('10.0-c-multifd4-zstd'));
  t.is(zstd.headline.capabilities.multifdCompression, 'zstd');
  t.is(zstd.rounds.length, 24);
});

test('the HTML is one self-contained file: no network reference, the headline as text, one table row per round', async (t) => {
  const a = await analyzeCapture(fixture('10.0-multifd4-zlib'), { verdict: { rules: [{ id: 'packet-numbers', status: 'fail', detail: 'x', channel: 'multifd 1', offset: 120 }] } });
  const html = renderReport(a);
  t.notRegex(html, /<(script|link|img)[^>]+(src|href)=["']?https?:/i);
  t.regex(html, /<p id="headline-text">QEMU 10\.0, machine pc-q35-10\.0 · multifd 4 \(zlib\)/);
  t.regex(html, /check: FAILED \(packet-numbers\)/);
  t.regex(html, /multifd 1 @ byte 120 \(0x78\)/);
  t.is(html.match(/<tr class="round"/g)?.length, a.rounds.length);
  t.regex(html, /prefers-color-scheme: dark/);
  t.regex(html, /<noscript>/);
  // The data island cannot end its own <script> element.
  const island = html.slice(html.indexOf('id="migwire-data">'), html.indexOf('</script>', html.indexOf('id="migwire-data">')));
  t.false(island.includes('<'));
});
