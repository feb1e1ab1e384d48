import test from 'ava';
import { MultifdFlushCoordinator, SyncError, SyncErrorCode } from '../src/index.js';
import { render, wireLog } from './helpers/wire-log.js';

test('startPostcopy flushes the partial packet, syncs every channel and writes FLUSH before postcopy', (t) => {
  const { log, sinks, main } = wireLog(2);
  const c = new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main });
  c.setup();
  log.length = 0;
  c.queuePage({ block: 'pc.ram', offset: 0 });
  const report = c.startPostcopy();
  t.deepEqual(render(log), ['P0:pc.ram', 'S0', 'S1', 'F']);
  t.is(report.reason, 'postcopy');
  t.true(c.inPostcopy);
});

test('per-section startPostcopy syncs and asks for the EOS that the destination keys on', (t) => {
  const { log, sinks, main } = wireLog(1);
  const c = new MultifdFlushCoordinator({ mode: 'per-section', channels: sinks, main });
  t.is(c.startPostcopy().marker, 'eos');
  t.deepEqual(render(log), ['S0']);
});

test('multifd pages are refused with MULTIFD_IN_POSTCOPY once postcopy began', (t) => {
  const { sinks, main } = wireLog(2);
  const c = new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main });
  c.startPostcopy();
  const err = t.throws(() => c.queuePage({ block: 'pc.ram', offset: 4096 }), { instanceOf: SyncError });
  t.is(err?.code, SyncErrorCode.MultifdInPostcopy);
  t.regex(err?.found ?? '', /pc\.ram\+0x1000/);
});

test('in postcopy, scan wraps and section ends issue no barrier (multifd is idle)', (t) => {
  const { log, sinks, main } = wireLog(2);
  const c = new MultifdFlushCoordinator({ mode: 'per-round', channels: sinks, main });
  c.startPostcopy();
  log.length = 0;
  t.is(c.scanWrapped(), undefined);
  t.is(c.beforeSectionEnd(), undefined);
  t.deepEqual(log, []);
  t.throws(() => c.startPostcopy(), { message: /INVALID_STATE/ });
  t.throws(() => c.newRound(), { message: /INVALID_STATE/ });
});
