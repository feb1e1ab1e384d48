/**
 * transcode for current QEMU, without QEMU: the destination release taken from the recording's
 * machine type, 11.1 recordings with multifd + postcopy (+ preempt) re-sent as main + N multifd
 * (+ preempt), and switchover-ack honoured as a source: it waits for the ACK in the legacy
 * protocol, not in 11.1's per-device one, and fails clearly when an ACK that is due never comes.
 */
import test from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { inferRelease, main, MemoryOutput, runTranscode, TranscodeError } from '../src/index.js';
import { decodeCapture, openCapture } from '@migwire/capture';
import { FIXTURES } from './paths.js';
import { ramOf, tcpPeer, transcodeToCapture } from './transcode-helpers.js';

const MF_POSTCOPY = join(FIXTURES, '11.1-multifd4-postcopy');
const MF_PREEMPT = join(FIXTURES, '11.1-multifd4-postcopy-preempt');
const ACK_10 = join(FIXTURES, '10.0-switchover-ack');

const probe = (machine: string, multifdLayout?: '7.2' | '10.0') => ({ machine, multifdLayout, multifdChannels: 0, multifdCompression: undefined, multifdUuid: undefined, uuid: undefined });

test('the destination release follows the machine type, at least what the multifd layout needs', (t) => {
  t.is(inferRelease(probe('pc-q35-11.1')), '11.1');
  t.is(inferRelease(probe('pc-q35-11.0')), '11.1');
  t.is(inferRelease(probe('pc-q35-10.0')), '10.0');
  t.is(inferRelease(probe('pc-q35-8.2')), '10.0');
  t.is(inferRelease(probe('pc-q35-7.2')), '7.2');
  t.is(inferRelease(probe('pc-q35-7.2', '10.0')), '10.0', 'a 10.0 source on machine 7.2 writes 9.0+ packets');
  t.is(inferRelease(probe('q35')), '10.0');
});

/** Top-level main records of a capture, as "COMMAND NAME" / "RAM kind" lines. */
async function mainOutline(dir: string): Promise<string[]> {
  const out: string[] = [];
  await decodeCapture(await openCapture(dir), {
    only: (ch) => ch.role === 'main',
    onRecord: (_ch, r) => {
      if (r.kind === 'command' && r.depth === 0) out.push(`COMMAND ${r.name}`);
      else if (r.kind === 'ram-multifd-flush') out.push('FLUSH');
      else if (r.kind === 'section' && r.depth === 0) out.push(`SECTION ${r.sectionType} ${r.idstr}`);
    },
  });
  return out;
}

test('an 11.1 multifd + postcopy recording to main + 2 multifd for 11.1: multifd flushed and closed before SWITCHOVER_START, same RAM', async (t) => {
  const { dir, report } = await transcodeToCapture(MF_POSTCOPY, { channels: 2 });
  try {
    t.is(report.plan.qemu, '11.1', 'inferred from machine pc-q35-11.1');
    t.true(report.plan.multifdWithPostcopy);
    t.is(report.counts.barriers.postcopy, 1);
    t.true(report.counts.postcopy.pagesOnMain > 0, 'postcopy pages on main after the switch');
    t.true(report.counts.multifd.every((m) => m.syncs === report.counts.rounds), 'one SYNC per channel per round, the postcopy barrier included');
    const outline = await mainOutline(dir);
    const sw = outline.indexOf('COMMAND SWITCHOVER_START');
    t.deepEqual(outline.slice(sw - 2, sw + 1), ['SECTION part ram', 'FLUSH', 'COMMAND SWITCHOVER_START'], 'the last MULTIFD_FLUSH in the RAM section right before SWITCHOVER_START');
    t.is(await ramOf(dir), await ramOf(MF_POSTCOPY), 'the transcoded migration carries the same RAM');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('multifd + postcopy for a 10.0 destination is refused with a message that names the release that can', async (t) => {
  const e = await t.throwsAsync(runTranscode(MF_POSTCOPY, { target: undefined, channels: 2, qemu: '10.0' }), { instanceOf: TranscodeError });
  t.is(e?.code, 'UNSUPPORTED_RECORD');
  t.regex(e?.message ?? '', /multifd and postcopy together \(QEMU 10\.1\+ can: --qemu 11\.1\)/);
  // A single main stream is fine for 10.0.
  const { dir } = await transcodeToCapture(MF_POSTCOPY, { channels: 0, qemu: '10.0' });
  t.is(await ramOf(dir), await ramOf(MF_POSTCOPY));
  rmSync(dir, { recursive: true, force: true });
});

test('an 11.1 multifd + postcopy + preempt recording: its preempt pages go to the output preempt channel, or on main without one', async (t) => {
  const withPreempt = await transcodeToCapture(MF_PREEMPT, { channels: 4, preempt: true });
  const onMain = await transcodeToCapture(MF_PREEMPT, { channels: 4 });
  try {
    const pre = withPreempt.report.counts.postcopy;
    t.true(pre.pagesOnPreempt > 0, 'pages on the preempt channel');
    t.true(pre.preemptBytes >= pre.pagesOnPreempt * 4096);
    t.is(onMain.report.counts.postcopy.pagesOnPreempt, 0);
    t.is(onMain.report.counts.postcopy.pagesOnMain, pre.pagesOnMain + pre.pagesOnPreempt, 'the same pages, all on main');
    t.is(await ramOf(onMain.dir), await ramOf(MF_PREEMPT), 'same RAM as the recording (preempt pages included)');
  } finally {
    rmSync(withPreempt.dir, { recursive: true, force: true });
    rmSync(onMain.dir, { recursive: true, force: true });
  }
});

/**
 * A destination that reads everything and closes after the end. With `ackWhenIdle` it sends
 * SWITCHOVER_ACK on the main connection once the sender went quiet (i.e. is waiting for it).
 */
function ackPeer(ackWhenIdle: boolean): Promise<{ port: number; close: () => void }> {
  return tcpPeer((s, index) => {
    let timer: NodeJS.Timeout | undefined;
    let acked = false;
    s.on('data', () => {
      if (!ackWhenIdle || index !== 0 || acked) return;
      clearTimeout(timer);
      // SWITCHOVER_ACK (be16 type 7, be16 length 0) once the sender went quiet.
      timer = setTimeout(() => {
        acked = true;
        s.write(Buffer.from([0, 7, 0, 0]));
      }, 1000);
    });
    s.on('end', () => {
      clearTimeout(timer);
      s.end();
    });
  });
}

test('switchover-ack, legacy protocol (machine 10.0): transcode waits for the ACK and goes on once it comes', async (t) => {
  // The ACK comes only once transcode stops sending: it must be waiting for it at the switchover.
  const p = await ackPeer(true);
  try {
    const r = await runTranscode(ACK_10, { target: { host: '127.0.0.1', port: p.port }, channels: 0, timeoutMs: 10_000 });
    t.deepEqual(r.switchoverAck, { mode: 'legacy', because: 'destination QEMU 10.0', waited: true, acks: 1 });
    t.true(r.destinationClosed);
  } finally {
    p.close();
  }
});

test('switchover-ack, legacy protocol: an ACK that never comes fails with SWITCHOVER_ACK_MISSING, no hang', async (t) => {
  const p = await ackPeer(false);
  try {
    const o = new MemoryOutput();
    t.is(await main(['transcode', ACK_10, '--target', `127.0.0.1:${p.port}`, '--channels', '0', '--timeout', '300', '--quiet'], o), 1);
    t.regex(o.errors.join('\n'), /switchover-ack \(legacy protocol, destination QEMU 10\.0\): the destination owes a SWITCHOVER_ACK .* none came within 300 ms.*SWITCHOVER_ACK_MISSING/);
  } finally {
    p.close();
  }
});

test('switchover-ack, per-device protocol (11.1, switchover-ack-legacy off): no ACK owed, transcode does not wait', async (t) => {
  const p = await ackPeer(false);
  try {
    const o = new MemoryOutput();
    const code = await main(['transcode', ACK_10, '--target', `127.0.0.1:${p.port}`, '--channels', '0', '--qemu', '11.1', '--switchover-ack-legacy', 'off', '--timeout', '300', '--quiet'], o);
    t.is(code, 0, o.errors.join('\n'));
    t.regex(o.lines.join('\n'), /switchover-ack: per-device protocol \(switchover-ack-legacy=off\); no ACK owed before the switchover; 0 SWITCHOVER_ACK received/);
  } finally {
    p.close();
  }
});

test('--qemu takes the three supported releases and nothing else; --switchover-ack wants on or off', async (t) => {
  const o = new MemoryOutput();
  t.is(await main(['transcode', ACK_10, '--target', '127.0.0.1:1', '--channels', '0', '--qemu', '9.2'], o), 2);
  t.regex(o.errors.join('\n'), /--qemu must be one of 7\.2, 10\.0, 11\.1, got 9\.2/);
  t.is(await main(['transcode', ACK_10, '--target', '127.0.0.1:1', '--channels', '0', '--switchover-ack', 'yes'], o), 2);
  t.regex(o.errors.join('\n'), /--switchover-ack must be on or off/);
});
