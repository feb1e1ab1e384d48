import test from 'ava';
import { MultifdFlushCoordinator, flushModeFor } from '../src/index.js';
import { render, wireLog } from './helpers/wire-log.js';

const ram = (offset: number) => ({ block: 'pc.ram', offset });

test('flush mode follows the QEMU release: per-section before 8.0 and with flush-after-each-section', (t) => {
  t.is(flushModeFor({ qemuMajor: 7 }), 'per-section');
  t.is(flushModeFor({ qemuMajor: 10 }), 'per-round');
  t.is(flushModeFor({ qemuMajor: 10, flushAfterEachSection: true }), 'per-section');
  t.is(flushModeFor({ qemuMajor: 8, flushAfterEachSection: false }), 'per-round');
});

test('per-round setup: SYNC on every channel, then MULTIFD_FLUSH on main, in that order', (t) => {
  const { log, sinks, main } = wireLog(3);
  const c = new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main });
  const report = c.setup();
  t.deepEqual(render(log), ['S0', 'S1', 'S2', 'F']);
  t.is(report.marker, 'flush');
  t.is(report.reason, 'setup');
});

test('per-round: a scan wrap issues the barrier; a section end does not', (t) => {
  const { log, sinks, main } = wireLog(2);
  const c = new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main });
  c.setup();
  log.length = 0;
  t.is(c.beforeSectionEnd(), undefined);
  t.deepEqual(log, []);
  const report = c.scanWrapped();
  t.deepEqual(render(log), ['S0', 'S1', 'F']);
  t.is(report?.reason, 'scan-wrap');
});

test('per-section: SYNC before every EOS, never a FLUSH record, scan wraps ignored', (t) => {
  const { log, sinks, main } = wireLog(2);
  const c = new MultifdFlushCoordinator({ mode: 'per-section', channels: sinks, main });
  t.is(c.setup().marker, 'eos');
  t.is(c.scanWrapped(), undefined);
  t.is(c.beforeSectionEnd()?.marker, 'eos');
  t.deepEqual(render(log), ['S0', 'S1', 'S0', 'S1']);
  t.false(render(log).includes('F'));
});

test('a partly-filled packet is sent before the SYNCs', (t) => {
  const { log, sinks, main } = wireLog(2);
  const c = new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main });
  c.setup();
  log.length = 0;
  c.queuePage(ram(0));
  c.queuePage(ram(4096));
  t.deepEqual(log, [], 'pages gather until the packet is full or a barrier comes');
  const report = c.scanWrapped();
  t.deepEqual(render(log), ['P0:pc.ram', 'S0', 'S1', 'F']);
  t.deepEqual(report?.partialPacket?.offsets, [0, 4096]);
  t.is(c.pendingPages, 0);
});

test('packets hold one block and at most 512 KiB of pages; channels are used round-robin', (t) => {
  const { log, sinks, main } = wireLog(2);
  const c = new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main });
  for (let i = 0; i < 128; i++) c.queuePage(ram(i * 4096));
  c.queuePage({ block: 'vga.vram', offset: 0 });
  c.queuePage({ block: 'pc.ram', offset: 200 * 4096 }); // block change sends vga.vram's packet
  t.deepEqual(render(log), ['P0:pc.ram', 'P1:vga.vram']);
  const first = log[0];
  t.is(first?.kind === 'pages' ? first.packet.offsets.length : -1, 128);
});

test('packet numbers are global across channels and count SYNC packets too', (t) => {
  const { log, sinks, main } = wireLog(2);
  const c = new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main, pageSize: 4096 });
  c.setup();
  c.queuePage(ram(0));
  c.scanWrapped();
  const nums = log.flatMap((e) => (e.kind === 'flush' ? [] : [e.packet.packetNum]));
  t.deepEqual(nums, [0, 1, 2, 3, 4]);
});

test('a page queued twice in one round is refused with needs-new-round, and accepted after a barrier', (t) => {
  const { log, sinks, main } = wireLog(2);
  const c = new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main });
  c.setup();
  t.is(c.queuePage(ram(8192)).status, 'queued');
  const again = c.queuePage(ram(8192));
  t.is(again.status, 'needs-new-round');
  t.is(c.pendingPages, 1, 'the second copy was not queued');
  c.newRound();
  const after = c.queuePage(ram(8192));
  t.is(after.status, 'queued');
  t.is(after.round, again.round + 1);
  t.is(log.filter((e) => e.kind === 'flush').length, 2);
});

test('the same offset in another block is a different page', (t) => {
  const { sinks, main } = wireLog(1);
  const c = new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main });
  t.is(c.queuePage(ram(0)).status, 'queued');
  t.is(c.queuePage({ block: 'vga.vram', offset: 0 }).status, 'queued');
});

test('per-section newRound syncs and tells the caller to end the section', (t) => {
  const { log, sinks, main } = wireLog(2);
  const c = new MultifdFlushCoordinator({ mode: 'per-section', channels: sinks, main });
  c.queuePage(ram(0));
  t.is(c.newRound().marker, 'eos');
  t.deepEqual(render(log), ['P0:pc.ram', 'S0', 'S1']);
});

test('a coordinator needs at least one channel and a page size dividing 512 KiB', (t) => {
  const { main } = wireLog(0);
  t.throws(() => new MultifdFlushCoordinator({ mode: 'per-round', channels: [], main }), { instanceOf: Error, message: /INVALID_ARGUMENT/ });
  const { sinks } = wireLog(1);
  t.throws(() => new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main, pageSize: 3000 }), { message: /INVALID_ARGUMENT/ });
});
