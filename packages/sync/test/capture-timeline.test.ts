import test from 'ava';
import { flushModeFor, isMainBarrier, replaySyncTimeline, type TimelineStep } from '../src/index.js';
import { captureNames, captureTimeline, type CaptureEvent } from './helpers/capture-timeline.js';

const captures = captureNames(/multifd/);

test('the real multifd captures are there to replay (fixtures/)', (t) => {
  t.true(captures.length >= 2);
});

for (const name of captures) {
  const mode = flushModeFor({ qemuMajor: Number(name.split('.')[0]) });
  test(`${name}: the recorded timeline passes every barrier, one SYNC per channel each${mode === 'per-round' ? ', no page twice in a round' : ''}`, async (t) => {
    const events = await captureTimeline(name);
    const channels = new Set(events.flatMap((e) => (e.source === 'multifd' ? [e.channel] : []))).size;
    const classify = (e: CaptureEvent): TimelineStep =>
      e.source === 'main'
        ? { source: 'main', barrier: isMainBarrier(e.record, mode), offset: e.record.offset }
        : { source: 'multifd', channel: e.channel, sync: e.record.kind === 'multifd-packet' && e.record.sync, offset: e.record.offset };
    const replay = replaySyncTimeline(events, classify, { channels, mode });
    t.is(replay.stalled, undefined);
    const barriersOnMain = events.filter((e) => e.source === 'main' && isMainBarrier(e.record, mode)).length;
    const syncsPerChannel = events.filter((e) => e.source === 'multifd' && e.channel === 0 && e.record.kind === 'multifd-packet' && e.record.sync).length;
    t.true(barriersOnMain > 0);
    t.is(replay.barriers.length, barriersOnMain);
    t.is(syncsPerChannel, barriersOnMain);

    // 7.2 itself breaks this rule: its capture sends pc.ram+0x1dd000 in packet 9 (channel 1) and
    // again alone in packet 10 (channel 2) between the same two barriers, so it is checked on 8.0+ only.
    if (mode === 'per-section') return;
    let round = new Map<string, number>();
    for (const e of replay.order) {
      if (e.source === 'main' && isMainBarrier(e.record, mode)) round = new Map();
      if (e.source !== 'multifd' || e.record.kind !== 'multifd-packet') continue;
      for (const o of [...e.record.normalOffsets, ...e.record.zeroOffsets]) {
        const key = `${e.record.block}:${o}`;
        const earlier = round.get(key);
        if (earlier !== undefined && earlier !== e.channel) t.fail(`${key} on channels ${earlier} and ${e.channel} in one round`);
        round.set(key, e.channel);
      }
    }
  });
}
