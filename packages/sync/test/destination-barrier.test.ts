import test from 'ava';
import type { MainRecord } from '@migwire/stream-codec';
import { LiveSyncBarrier, SyncBarrier, SyncError, SyncErrorCode, isMainBarrier } from '../src/index.js';

test('main is held at the barrier until every channel has delivered its SYNC', (t) => {
  const b = new SyncBarrier({ channels: 3, mode: 'per-round' });
  b.syncArrived({ channel: 0 });
  b.mainArrived(120);
  t.false(b.canProceed());
  t.deepEqual(b.missingChannels(), [1, 2]);
  b.syncArrived({ channel: 2 });
  t.false(b.canProceed());
  b.syncArrived({ channel: 1, packetNum: 7, offset: 1344 });
  t.true(b.canProceed());
  const release = b.release();
  t.is(release.index, 0);
  t.deepEqual(release.syncs[1], { channel: 1, packetNum: 7, offset: 1344 });
  t.false(b.mainWaiting);
});

test('a channel that delivered its SYNC is held until main releases the barrier', (t) => {
  const b = new SyncBarrier({ channels: 2, mode: 'per-round' });
  b.syncArrived({ channel: 0 });
  t.true(b.channelHeld(0));
  t.false(b.channelHeld(1));
  b.syncArrived({ channel: 1 });
  t.true(b.channelHeld(0), 'SYNCs alone do not release: main must reach FLUSH');
  b.mainArrived();
  b.release();
  t.false(b.channelHeld(0));
  t.false(b.channelHeld(1));
});

test('SYNCs queued ahead in a recording are consumed one per barrier', (t) => {
  const b = new SyncBarrier({ channels: 1, mode: 'per-round' });
  b.syncArrived({ channel: 0, packetNum: 1 });
  b.syncArrived({ channel: 0, packetNum: 2 });
  b.mainArrived();
  t.is(b.release().syncs[0]?.packetNum, 1);
  t.true(b.channelHeld(0));
  b.mainArrived();
  t.is(b.release().syncs[0]?.packetNum, 2);
  t.is(b.passed, 2);
});

test('releasing too early, or a second barrier while held, is an INVALID_STATE error naming the missing channel', (t) => {
  const b = new SyncBarrier({ channels: 2, mode: 'per-round' });
  b.syncArrived({ channel: 0 });
  b.mainArrived(300);
  const err = t.throws(() => b.release(), { instanceOf: SyncError });
  t.is(err?.code, SyncErrorCode.InvalidState);
  t.is(err?.channel, 'multifd 1');
  t.is(err?.offset, 300);
  t.throws(() => b.mainArrived(), { message: /INVALID_STATE/ });
});

test('a SYNC from a channel id that does not exist is UNKNOWN_CHANNEL', (t) => {
  const b = new SyncBarrier({ channels: 4, mode: 'per-round' });
  const err = t.throws(() => b.syncArrived({ channel: 4 }), { instanceOf: SyncError });
  t.is(err?.code, SyncErrorCode.UnknownChannel);
  t.is(err?.channel, 'multifd 4');
});

const at = { offset: 0, length: 8, depth: 0, sectionId: 1, flags: 0 };
const flush: MainRecord = { kind: 'ram-multifd-flush', ...at, flags: 0x200 };
const eos: MainRecord = { kind: 'ram-eos', ...at, flags: 0x10 };

test('the destination syncs on FLUSH in per-round mode and on RAM EOS in per-section mode', (t) => {
  t.true(isMainBarrier(flush, 'per-round'));
  t.false(isMainBarrier(eos, 'per-round'));
  t.true(isMainBarrier(eos, 'per-section'));
  t.true(isMainBarrier(flush, 'per-section'), '8.0+ loaders sync on FLUSH whatever the mode');
  t.false(isMainBarrier({ kind: 'eof', offset: 0, length: 1, depth: 0 }, 'per-section'));
});

test('live: onMainBarrier resolves only after the last channel SYNC, and channel readers resume with it', async (t) => {
  const live = new LiveSyncBarrier({ channels: 2, mode: 'per-round' });
  const order: string[] = [];
  const ch0 = live.onChannelSync({ channel: 0 }).then(() => order.push('ch0 resumes'));
  const main = live.onMainBarrier(64).then((r) => order.push(`main resumes ${r.index}`));
  await Promise.resolve();
  t.deepEqual(order, [], 'nothing resumes while channel 1 has not synced');
  const ch1 = live.onChannelSync({ channel: 1 }).then(() => order.push('ch1 resumes'));
  await Promise.all([ch0, main, ch1]);
  t.deepEqual(order.sort(), ['ch0 resumes', 'ch1 resumes', 'main resumes 0']);
});

test('live: abort rejects every waiter so no reader hangs', async (t) => {
  const live = new LiveSyncBarrier({ channels: 2, mode: 'per-round' });
  const main = live.onMainBarrier();
  const ch0 = live.onChannelSync({ channel: 0 });
  live.abort(new Error('channel 1 closed'));
  await t.throwsAsync(main, { message: 'channel 1 closed' });
  await t.throwsAsync(ch0, { message: 'channel 1 closed' });
  await t.throwsAsync(live.onChannelSync({ channel: 1 }), { message: 'channel 1 closed' });
});
