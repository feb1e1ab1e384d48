/** How a channel captured mid-stream is decoded, and the refusal of commands that need its start. */
import test from 'ava';
import { requireStreamStart, streamStartOptions, StreamStartNotCapturedError, type Capture, type CaptureChannel } from '../src/index.js';

const channel = (name: string, role: CaptureChannel['role'], skipped?: number): CaptureChannel => ({
  name,
  role,
  conn: role === 'main' ? 0 : 1,
  direction: 'src2dst',
  ...(skipped !== undefined ? { midStream: { skipped } } : {}),
  open: async function* () {},
});
const capture = (...channels: CaptureChannel[]): Capture => ({ kind: 'pcap', path: 'x.pcap', channels, arrivals: () => Promise.resolve(undefined) });

test('a channel captured from its start decodes as usual; main from mid-way resumes in RAM, multifd skips its init', (t) => {
  t.deepEqual(streamStartOptions(channel('main', 'main')), {});
  t.deepEqual(streamStartOptions(channel('main', 'main', 12)), { resumeInRam: {} });
  t.deepEqual(streamStartOptions(channel('multifd 0', 'multifd', 40)), { skipInit: true });
});

test('requireStreamStart names the channel and where decoding starts; main first', (t) => {
  t.notThrows(() => requireStreamStart(capture(channel('main', 'main')), 'cannot send'));
  const e = t.throws(() => requireStreamStart(capture(channel('multifd 0', 'multifd', 40), channel('main', 'main', 12)), 'cannot send'), { instanceOf: StreamStartNotCapturedError });
  t.is(e.message, 'cannot send: the main channel was captured mid-stream, its start (header, configuration, RAM block list) is not in the capture (x.pcap, channel main, decoding starts 12 bytes into its capture)');
  t.like(e, { name: 'StreamStartNotCapturedError', channel: 'main', skipped: 12, path: 'x.pcap' });
  const only = channel('multifd 0', 'multifd', 40);
  t.regex(t.throws(() => requireStreamStart(capture(channel('main', 'main'), only), 'cannot seed', [only]))!.message, /the multifd 0 channel was captured mid-stream, its start \(init message\)/);
});
