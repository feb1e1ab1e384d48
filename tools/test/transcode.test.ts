/**
 * transcode without QEMU: the bytes it would send are written as a capture (main + N multifd
 * connections), which must decode, round-trip, pass every `migwire check` rule and extract to the
 * same RAM as the recording it came from. A wrong barrier placement must fail `check`.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '@migwire/capture';
import { checkCapture, DestinationOrderReader, PageRouter, type PageRouterOptions, type RouteDecision, type RoutedPage } from '@migwire/sync';
import { main, MemoryOutput, planFor, runTranscode, Transcoder, TranscodeError } from '../src/index.js';
import { probeRecording } from '../src/transcode/probe.js';
import { MemorySink, ramOf, tcpPeer, transcodeToCapture } from './transcode-helpers.js';
import { FIXTURES, SHARED_CAPTURES, sharedCaptures } from './paths.js';

/** Test-only wrong placement: a page re-sent within its round gets no new round; the copy goes on main, unordered. */
class SkipResendBarrier extends Transcoder {
  protected override createRouter(o: PageRouterOptions): PageRouter {
    return new (class extends PageRouter {
      override route(p: RoutedPage): RouteDecision {
        const d = super.route(p);
        return d.newRoundFirst ? { route: 'main', newRoundFirst: false } : d;
      }
    })(o);
  }
}

/** Test-only wrong placement: every re-send barrier writes one MULTIFD_FLUSH more than it has SYNCs for. */
class FlushWithoutSync extends Transcoder {
  protected override newRound(): void {
    super.newRound();
    this.writeFlush();
  }
}

/** Transcode with a test-side Transcoder subclass into a capture directory. */
async function wrongTranscodeToCapture(path: string, channels: number, Kind: typeof Transcoder): Promise<string> {
  const input = await openCapture(path);
  const { plan } = planFor({ target: undefined, channels }, await probeRecording(input));
  const mainSink = new MemorySink('main');
  const multifd = Array.from({ length: channels }, (_, i) => new MemorySink(`multifd ${i}`));
  const t = new Kind(plan, mainSink, multifd);
  t.start();
  await t.run(new DestinationOrderReader(input).events());
  const dir = mkdtempSync(join(tmpdir(), 'mw-transcode-'));
  [mainSink, ...multifd].forEach((s, i) => writeFileSync(join(dir, `conn${String(i).padStart(2, '0')}.src2dst.bin`), Buffer.concat(s.parts)));
  return dir;
}

const checkRules = async (dir: string): ReturnType<typeof checkCapture> => checkCapture(await openCapture(dir));

async function verify(t: import('ava').ExecutionContext, source: string, dir: string): Promise<void> {
  const checked = await checkRules(dir);
  t.true(checked.ok, JSON.stringify(checked.rules.filter((r) => r.status === 'fail')));
  const rt = new MemoryOutput();
  t.is(await main(['check', '--roundtrip', dir], rt), 0, rt.lines.join('\n'));
  t.is(await ramOf(dir), await ramOf(source), 'the transcoded migration carries the same RAM');
}

const PRECOPY = join(FIXTURES, '10.0-precopy-file');

for (const compression of ['none', 'zlib', 'zstd'] as const) {
  test(`a plain precopy stream to 4 multifd channels (${compression}): every rule holds, same RAM`, async (t) => {
    const { dir, report } = await transcodeToCapture(PRECOPY, { channels: 4, compression });
    try {
      await verify(t, PRECOPY, dir);
      const c = report.counts;
      const sent = c.multifd.reduce((n, m) => n + m.normalPages + m.zeroPages, 0);
      t.is(sent, c.recordedPages.main, 'every recorded page sent once, in multifd packets');
      t.is(c.main.pages, 0, 'every page left main');
      t.true(c.multifd.every((m) => m.normalPages > 0 && m.zeroPages > 0), 'normal and zero pages on every channel');
      t.true(c.barriers['new-round'] > 0, 're-sent pages started new rounds');
      t.is(c.main.flushes, c.rounds, 'one MULTIFD_FLUSH per round (10.0 per-round rule)');
      t.true(c.multifd.every((m) => m.syncs === c.rounds), 'one SYNC per channel per round');
      t.is(report.plan.layout, '10.0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('legacy zero pages stay on main as ZERO records, normal pages go to multifd', async (t) => {
  const { dir, report } = await transcodeToCapture(PRECOPY, { channels: 2, zeroPages: 'legacy' });
  try {
    await verify(t, PRECOPY, dir);
    t.true(report.counts.main.zeroPages > 0);
    t.true(report.counts.multifd.every((m) => m.zeroPages === 0 && m.normalPages > 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const have = (name: string): boolean => sharedCaptures().includes(name);
const MF10 = join(SHARED_CAPTURES, '10.0-c-multifd4-zstd');
const MF72 = join(SHARED_CAPTURES, '7.2-c-multifd4-zstd');

(have('10.0-c-multifd4-zstd') ? test : test.skip)('a 10.0 multifd recording to a single main stream, and to 2 channels', async (t) => {
  for (const channels of [0, 2]) {
    const { dir, report } = await transcodeToCapture(MF10, { channels, compression: 'zstd' });
    try {
      await verify(t, MF10, dir);
      t.is(report.recorded.channels, 4);
      t.is(report.counts.recordedFlushesDropped, 48);
      if (channels === 0) t.true(report.counts.main.pages > 0 && report.counts.main.zeroPages > 0, 'multifd pages became PAGE/ZERO records');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

(have('7.2-c-multifd4-zstd') ? test : test.skip)('a 7.2 multifd recording to 3 channels in the 7.2 layout: SYNC before every RAM EOS, no FLUSH', async (t) => {
  const { dir, report } = await transcodeToCapture(MF72, { channels: 3, compression: 'zlib' });
  try {
    await verify(t, MF72, dir);
    t.is(report.plan.qemu, '7.2');
    t.is(report.plan.flushMode, 'per-section');
    t.is(report.counts.main.flushes, 0);
    t.true(report.counts.main.zeroPages > 0, 'zero pages on main (7.2 packets have none)');
    t.true(report.counts.sectionsSplit > 0, 'a re-sent page ends the RAM section to close its round');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a wrong barrier placement (re-sent pages without a new round) fails round-order', async (t) => {
  const dir = await wrongTranscodeToCapture(PRECOPY, 4, SkipResendBarrier);
  try {
    const checked = await checkRules(dir);
    t.false(checked.ok);
    t.is(checked.rules.find((r) => r.id === 'round-order')?.status, 'fail');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a FLUSH without its SYNCs fails sync-per-flush', async (t) => {
  const dir = await wrongTranscodeToCapture(PRECOPY, 4, FlushWithoutSync);
  try {
    const checked = await checkRules(dir);
    t.is(checked.rules.find((r) => r.id === 'sync-per-flush')?.status, 'fail');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('options the destination cannot take are refused with a typed error', async (t) => {
  const e = await t.throwsAsync(runTranscode(PRECOPY, { target: undefined, channels: 2, qemu: '7.2', zeroPages: 'multifd' }));
  t.true(e instanceof TranscodeError);
  t.is((e as TranscodeError).code, 'BAD_OPTION');
  const o = new MemoryOutput();
  t.is(await main(['transcode', PRECOPY, '--target', '127.0.0.1:1', '--channels', 'x'], o), 2);
  t.is(await main(['transcode', PRECOPY, '--target', '127.0.0.1:1', '--channels', '2', '--compression', 'lz4'], o), 2);
  // Nobody listens on port 1: a clear connect error, exit 1.
  const c = new MemoryOutput();
  t.is(await main(['transcode', PRECOPY, '--target', '127.0.0.1:1', '--channels', '2', '--quiet'], c), 1);
  t.regex(c.errors.join('\n'), /CONNECT_FAILED/);
});

test('XBZRLE pages stay on main, ordered against multifd copies by new rounds; a 7.2 precopy file takes the 7.2 rules', async (t) => {
  for (const name of ['10.0-xbzrle-exec', '7.2-precopy-exec']) {
    const source = join(FIXTURES, name);
    const { dir, report } = await transcodeToCapture(source, { channels: 4 });
    try {
      await verify(t, source, dir);
      if (name.startsWith('10.0')) t.true(report.counts.main.otherPages > 0, 'XBZRLE records passed through on main');
      else t.is(report.plan.flushMode, 'per-section');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('the CLI sends to a TCP peer main first then each multifd channel, prints the summary, exits 0 once the peer closes', async (t) => {
  const { createServer } = await import('node:net');
  const received: Buffer[][] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    const mine: Buffer[] = [];
    received.push(mine);
    s.on('data', (b: Buffer) => mine.push(b));
    // Like QEMU's destination: close once the sender has ended its side.
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  try {
    const o = new MemoryOutput();
    const code = await main(['transcode', PRECOPY, '--target', `127.0.0.1:${port}`, '--channels', '2', '--compression', 'zstd', '--quiet'], o);
    t.is(code, 0, o.errors.join('\n'));
    const text = o.lines.join('\n');
    t.regex(text, /main only -> main \+ 2 multifd \(zstd/);
    t.regex(text, /^multifd 1 +\d+ +\d+/m);
    t.regex(text, /rounds: barriers 1 at setup/);
    t.regex(text, /destination closed the stream/);
    t.is(received.length, 3);
    t.is(Buffer.concat(received[0]!).subarray(0, 4).toString('latin1'), 'QEVM', 'main first');
    t.deepEqual([1, 2].map((i) => Buffer.concat(received[i]!)[24]), [0, 1], 'then multifd 0 and 1, in order');
  } finally {
    server.close();
  }
});

/** A TCP peer for the CLI: `mode` says what it does with what it receives. */
function peer(mode: 'close-early' | 'never-read'): Promise<{ port: number; close: () => void }> {
  return tcpPeer((s) => {
    if (mode === 'never-read') s.pause();
    else s.once('data', () => s.destroy());
  });
}

test('a destination that drops the connection mid-stream: exit 1, DESTINATION_CLOSED naming the channel', async (t) => {
  const p = await peer('close-early');
  try {
    const o = new MemoryOutput();
    t.is(await main(['transcode', PRECOPY, '--target', `127.0.0.1:${p.port}`, '--channels', '0', '--quiet'], o), 1);
    t.regex(o.errors.join('\n'), /DESTINATION_CLOSED\) on main/);
  } finally {
    p.close();
  }
});

(have('10.0-c-multifd4-zstd') ? test : test.skip)('a destination that stops reading: exit 1 after --timeout, DESTINATION_STALLED, no hang', async (t) => {
  const p = await peer('never-read');
  try {
    const o = new MemoryOutput();
    t.is(await main(['transcode', MF10, '--target', `127.0.0.1:${p.port}`, '--channels', '0', '--timeout', '300', '--quiet'], o), 1);
    t.regex(o.errors.join('\n'), /DESTINATION_STALLED\) on main at byte \d+/);
  } finally {
    p.close();
  }
});

test('a recording cut between records, before QEMU_VM_EOF: sent as far as it goes, then exit 1 naming the last record, whatever the peer did', async (t) => {
  const { gunzipSync } = await import('node:zlib');
  const dir = mkdtempSync(join(tmpdir(), 'mw-cut-'));
  // A peer that takes everything and closes when the stream ends: it checks nothing.
  const p = await tcpPeer((s) => {
    s.resume();
    s.on('end', () => s.end());
  });
  try {
    const whole = gunzipSync(readFileSync(join(PRECOPY, 'stream.bin.gz')));
    const dumped = new MemoryOutput();
    await main(['dump', PRECOPY, '--json'], dumped);
    const eofAt = (JSON.parse(dumped.lines.join('\n').split('\n').find((l) => l.includes('"kind":"eof"'))!) as { offset: number }).offset;
    for (const [cutAt, last] of [[8, 'header at byte 0'], [eofAt, 'footer at byte']] as const) {
      const cut = join(dir, `cut-${cutAt}.bin`);
      writeFileSync(cut, whole.subarray(0, cutAt));
      const o = new MemoryOutput();
      t.is(await main(['transcode', cut, '--target', `127.0.0.1:${p.port}`, '--channels', '0', '--quiet'], o), 1, `cut at ${cutAt}`);
      t.regex(o.errors.join('\n'), new RegExp(`incomplete stream: ends before QEMU_VM_EOF; last complete record: ${last}.*TRUNCATED\\) on main at byte ${cutAt}`));
    }
  } finally {
    p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated recording: exit 1 with the decode error (code, channel, byte offset)', async (t) => {
  const { gunzipSync } = await import('node:zlib');
  const dir = mkdtempSync(join(tmpdir(), 'mw-trunc-'));
  const p = await peer('never-read');
  try {
    const whole = gunzipSync(readFileSync(join(PRECOPY, 'stream.bin.gz')));
    const cut = join(dir, 'cut.bin');
    writeFileSync(cut, whole.subarray(0, 200_000));
    const o = new MemoryOutput();
    t.is(await main(['transcode', cut, '--target', `127.0.0.1:${p.port}`, '--channels', '2', '--quiet'], o), 1);
    t.regex(o.errors.join('\n'), /TRUNCATED\) on main at byte \d+/);
  } finally {
    p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Found by a sweep: a destination resetting main while the multifd channels were being opened
// surfaced as a bare "migwire: read ECONNRESET", naming no channel.
test('a destination that resets each connection as it accepts it: DESTINATION_CLOSED naming the channel', async (t) => {
  const { createServer } = await import('node:net');
  const server = createServer((s) => s.resetAndDestroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  try {
    for (let i = 0; i < 3; i++) {
      const o = new MemoryOutput();
      t.is(await main(['transcode', PRECOPY, '--target', `127.0.0.1:${port}`, '--channels', '2', '--quiet'], o), 1);
      t.regex(o.errors.join('\n'), /^migwire: (the destination closed the channel after \d+ bytes: .*ECONNRESET \(DESTINATION_CLOSED\) on (main|multifd \d) at byte \d+|cannot connect to 127\.0\.0\.1:\d+: .* \(CONNECT_FAILED\))$/);
    }
  } finally {
    server.close();
  }
});

test('a destination that answers with bytes that are no return path: BAD_RETURN_PATH at once, not a missing SWITCHOVER_ACK after the timeout', async (t) => {
  const { createServer } = await import('node:net');
  const server = createServer((s) => {
    s.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    s.resume();
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  try {
    const o = new MemoryOutput();
    const t0 = performance.now();
    t.is(await main(['transcode', join(FIXTURES, '10.0-switchover-ack'), '--target', `127.0.0.1:${port}`, '--channels', '1', '--quiet'], o), 1);
    t.regex(o.errors.join('\n'), /^migwire: the destination's return path does not decode: .*UNKNOWN_RP_MESSAGE.* \(BAD_RETURN_PATH\) on return-path$/);
    t.true(performance.now() - t0 < 30_000);
  } finally {
    server.close();
  }
});
