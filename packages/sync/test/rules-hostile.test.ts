/**
 * Rules in bounded memory and linear time (issue 13, item 4): streams generated here with the
 * codec's encoders send one page over and over, or a great many records; check must finish fast,
 * and its per-page state must not grow with the number of records.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCapture, openCapture } from '@migwire/capture';
import { checkCapture, createRules, StreamFacts, type RuleChannel } from '../src/index.js';
import { onePageOverAndOver } from './helpers/synthetic-capture.js';

function streamFile(bytes: Buffer): { file: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'mw-hostile-'));
  const file = join(dir, 'stream.bin');
  writeFileSync(file, bytes);
  return { file, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test.serial('one zero page sent 200,000 times: check completes, fast, and every rule holds', async (t) => {
  const { file, done } = streamFile(onePageOverAndOver(200_000));
  const t0 = performance.now();
  const report = await checkCapture(await openCapture(file));
  const seconds = (performance.now() - t0) / 1000;
  t.true(report.ok, JSON.stringify(report.rules.filter((r) => r.status === 'fail')));
  t.is(report.rules.find((r) => r.id === 'decodes')?.status, 'pass');
  t.true(seconds < 15, `took ${seconds.toFixed(1)} s`);
  t.deepEqual(report.rounds, [{ round: 1, pages: { main: 200_000 } }]);
  done();
});

test.serial('one data page sent 100,000 times takes no more state than sending it once', async (t) => {
  const { file, done } = streamFile(onePageOverAndOver(100_000, { data: true }));
  const capture = await openCapture(file);
  const facts = new StreamFacts({ timed: false });
  const { rules, roundOrder } = createRules(facts, { live: false });
  const channel: RuleChannel = { name: 'main', role: 'main', conn: 0 };
  facts.addChannel(channel);
  await decodeCapture(capture, {
    onRecord: (_c, r) => {
      facts.observe(channel, r, undefined);
      for (const rule of rules) rule.observe(channel, r, undefined);
    },
  });
  // 64 pages of initial room per block, a few dozen bytes each.
  t.true(roundOrder!.pages.bytes < 64 * 64, `${roundOrder!.pages.bytes} bytes of page state`);
  t.is(roundOrder!.result().status, 'n/a');
  done();
});

test.serial('2,000,000 records over 256 pages: page state is a few bytes per page, heap stays bounded', async (t) => {
  const { file, done } = streamFile(onePageOverAndOver(2_000_000, { pages: 256 }));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const capture = await openCapture(file);
  const facts = new StreamFacts({ timed: false });
  const { rules, roundOrder } = createRules(facts, { live: false });
  const channel: RuleChannel = { name: 'main', role: 'main', conn: 0 };
  facts.addChannel(channel);
  let records = 0;
  let peak = 0;
  await decodeCapture(capture, {
    onRecord: (_c, r) => {
      records++;
      facts.observe(channel, r, undefined);
      for (const rule of rules) rule.observe(channel, r, undefined);
      if (gc && records % 500_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - before);
      }
    },
    onChannelEnd: (end) => {
      for (const rule of rules) rule.channelEnded(channel, { bytes: end.bytes });
    },
  });
  t.true(records > 2_000_000);
  // Per page: round, race rounds, digest, channel, flags, packet, times, offset: under 64 bytes.
  t.true(roundOrder!.pages.bytes <= 256 * 64, `${roundOrder!.pages.bytes} bytes for 256 pages`);
  if (gc) t.true(peak < 64 * 1024 * 1024, `heap grew by ${(peak / 1048576).toFixed(1)} MiB`);
  t.true(rules.every((r) => r.result().status !== 'fail'));
  done();
});
