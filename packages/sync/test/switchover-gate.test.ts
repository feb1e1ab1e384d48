import test from 'ava';
import { SwitchoverAckGate, SyncError, SyncErrorCode, diagnoseSwitchoverAck } from '../src/index.js';

const X = '0000:00:04.0/vfio';
const Y = '0000:00:05.0/vfio';

test('the source may not stop the VM until the ACK, which is due once every counted device loaded its initial data', (t) => {
  const gate = new SwitchoverAckGate({ sourceEnabled: true, destinationEnabled: true, destinationDevices: [X, Y] });
  gate.returnPathOpened();
  t.is(gate.status().state, 'waiting-for-devices');
  t.deepEqual(gate.status().pendingDevices, [X, Y]);
  t.false(gate.initDataSent(X));
  t.false(gate.mayStopVm());
  t.true(gate.initDataSent(Y), 'the last device makes the ACK due');
  t.is(gate.status().state, 'ack-due');
  t.false(gate.mayStopVm(), 'due is not received');
  gate.ackReceived();
  t.is(gate.status().state, 'acked');
  t.true(gate.mayStopVm());
});

test('with no counted device the ACK is due as soon as the return path opens', (t) => {
  const gate = new SwitchoverAckGate({ sourceEnabled: true, destinationEnabled: true, destinationDevices: [] });
  t.is(gate.status().state, 'waiting-for-return-path');
  t.throws(() => gate.ackReceived(), { message: /PREMATURE_SWITCHOVER_ACK/ });
  gate.returnPathOpened();
  t.true(gate.ackDue);
  gate.ackReceived();
  t.true(gate.mayStopVm());
});

test('the ACK is sent once: a second one is DUPLICATE_SWITCHOVER_ACK', (t) => {
  const gate = new SwitchoverAckGate({ sourceEnabled: true, destinationEnabled: true, destinationDevices: [] });
  gate.returnPathOpened();
  gate.ackReceived();
  const err = t.throws(() => gate.ackReceived(), { instanceOf: SyncError });
  t.is(err?.code, SyncErrorCode.DuplicateSwitchoverAck);
  t.is(err?.channel, 'return-path');
});

test('an ACK while a device is still loading is PREMATURE_SWITCHOVER_ACK naming the device', (t) => {
  const gate = new SwitchoverAckGate({ sourceEnabled: true, destinationEnabled: true, destinationDevices: [X] });
  gate.returnPathOpened();
  const err = t.throws(() => gate.ackReceived(), { instanceOf: SyncError });
  t.is(err?.code, SyncErrorCode.PrematureSwitchoverAck);
  t.regex(err?.found ?? '', /04\.0\/vfio/);
});

test('source enabled, destination not: no ACK will ever come, the gate says never', (t) => {
  const setup = { sourceEnabled: true, destinationEnabled: false, destinationDevices: [X] };
  t.deepEqual(diagnoseSwitchoverAck(setup), [{ kind: 'destination-not-enabled' }]);
  const gate = new SwitchoverAckGate(setup);
  gate.returnPathOpened();
  const status = gate.status();
  t.is(status.state, 'never');
  t.false(status.mayStopVm);
  t.deepEqual(status.pendingDevices, [], 'a destination with the capability off counts nothing');
  // And if a VFIO source still sends DEV_INIT_DATA_SENT, the destination rejects it.
  t.throws(() => gate.initDataSent(X), { message: /UNEXPECTED_INIT_DATA_SENT/ });
});

test('destination enabled, source not: the source never waits', (t) => {
  const gate = new SwitchoverAckGate({ sourceEnabled: false, destinationEnabled: true, destinationDevices: [X] });
  t.is(gate.status().state, 'not-required');
  t.true(gate.mayStopVm());
});

test('a device counted by the destination but silent on the source blocks the ACK forever', (t) => {
  const gate = new SwitchoverAckGate({ sourceEnabled: true, destinationEnabled: true, destinationDevices: [X, Y], sourceDevices: [X] });
  gate.returnPathOpened();
  gate.initDataSent(X);
  const status = gate.status();
  t.is(status.state, 'never');
  t.deepEqual(status.blockers, [{ kind: 'device-never-reports', device: Y }]);
  t.deepEqual(status.pendingDevices, [Y]);
});

test('a device that reports on the source but is not counted by the destination fails the load', (t) => {
  const setup = { sourceEnabled: true, destinationEnabled: true, destinationDevices: [X], sourceDevices: [X, Y] };
  t.deepEqual(diagnoseSwitchoverAck(setup), [{ kind: 'device-not-counted', device: Y }]);
  const gate = new SwitchoverAckGate(setup);
  const err = t.throws(() => gate.initDataSent(Y), { instanceOf: SyncError });
  t.is(err?.code, SyncErrorCode.UnexpectedInitDataSent);
  t.is(err?.device, Y);
});

test('DEV_INIT_DATA_SENT twice for one device is DUPLICATE_INIT_DATA_SENT', (t) => {
  const gate = new SwitchoverAckGate({ sourceEnabled: true, destinationEnabled: true, destinationDevices: [X, Y] });
  gate.initDataSent(X);
  t.throws(() => gate.initDataSent(X), { message: /DUPLICATE_INIT_DATA_SENT/ });
});
