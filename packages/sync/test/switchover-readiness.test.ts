import test from 'ava';
import { PrecopyReadiness, SwitchoverAckGate, SyncError, SyncErrorCode, decideSwitchover } from '../src/index.js';

const X = '0000:00:04.0/vfio';

test('a device becomes ready when initial_bytes reach 0, and sends DEV_INIT_DATA_SENT then', (t) => {
  const r = new PrecopyReadiness([X]);
  t.deepEqual(r.update(X, { initialBytes: 1000, dirtyBytes: 50 }), { change: 'unchanged', sendInitDataSent: false });
  t.false(r.summary().allReady);
  t.deepEqual(r.update(X, { initialBytes: 0, dirtyBytes: 10 }), { change: 'became-ready', sendInitDataSent: true });
  t.true(r.summary().allReady);
});

test('initial_bytes growing without REINIT is INITIAL_BYTES_GREW', (t) => {
  const r = new PrecopyReadiness([X]);
  r.update(X, { initialBytes: 100, dirtyBytes: 0 });
  const err = t.throws(() => r.update(X, { initialBytes: 200, dirtyBytes: 0 }), { instanceOf: SyncError });
  t.is(err?.code, SyncErrorCode.InitialBytesGrew);
  t.is(err?.device, X);
});

test('dirty_bytes is volatile: it may rise and fall without affecting readiness', (t) => {
  const r = new PrecopyReadiness([X]);
  r.update(X, { initialBytes: 0, dirtyBytes: 10 });
  t.is(r.update(X, { initialBytes: 0, dirtyBytes: 5_000_000 }).change, 'unchanged');
  t.is(r.update(X, { initialBytes: 0, dirtyBytes: 3 }).change, 'unchanged');
  t.true(r.isReady(X));
  t.is(r.summary().dirtyBytes, 3, 'only the latest figure counts');
});

test('REINIT after the ACK revokes readiness: the VM may not stop until it is earned again, without a second DEV_INIT_DATA_SENT', (t) => {
  const gate = new SwitchoverAckGate({ sourceEnabled: true, destinationEnabled: true, destinationDevices: [X] });
  const r = new PrecopyReadiness([X]);
  gate.returnPathOpened();
  const first = r.update(X, { initialBytes: 0, dirtyBytes: 0 });
  if (first.sendInitDataSent) gate.initDataSent(X);
  gate.ackReceived();
  const inputs = { pendingEstimateBytes: 1000, exactPendingBytes: 1000, bandwidthBytesPerSecond: 1_000_000, downtimeLimitMs: 300 };
  t.is(decideSwitchover({ ...inputs, gate: gate.status(), readiness: r.summary() }).action, 'switchover');

  const reinit = r.update(X, { initialBytes: 4096, dirtyBytes: 0, reinit: true });
  t.deepEqual(reinit, { change: 'revoked', sendInitDataSent: false });
  t.true(gate.mayStopVm(), 'the ACK itself stays: the protocol has no un-ACK');
  const held = decideSwitchover({ ...inputs, gate: gate.status(), readiness: r.summary() });
  t.deepEqual(held.action === 'hold' ? held.reason : held.action, 'device-initial-data');
  t.is(r.summary().revocations, 1);

  const again = r.update(X, { initialBytes: 0, dirtyBytes: 0 });
  t.deepEqual(again, { change: 'became-ready', sendInitDataSent: false });
  t.is(decideSwitchover({ ...inputs, gate: gate.status(), readiness: r.summary() }).action, 'switchover');
});

test('PRECOPY_INFO for an unknown device or with negative figures is rejected', (t) => {
  const r = new PrecopyReadiness([X]);
  t.throws(() => r.update('nope/vfio', { initialBytes: 0, dirtyBytes: 0 }), { message: /UNKNOWN_DEVICE/ });
  t.throws(() => r.update(X, { initialBytes: -1, dirtyBytes: 0 }), { message: /INVALID_ARGUMENT/ });
});
