import test from 'ava';
import { SwitchoverAckGate, decideSwitchover } from '../src/index.js';

// 1 MB/s and 300 ms: the threshold is 300 000 bytes.
const base = { bandwidthBytesPerSecond: 1_000_000, downtimeLimitMs: 300 };

test('an estimate above bandwidth x downtime keeps copying', (t) => {
  const d = decideSwitchover({ ...base, pendingEstimateBytes: 300_001 });
  t.is(d.action, 'continue');
  t.is(d.action === 'continue' ? d.reason : '', 'estimate-above-threshold');
  t.is(d.action === 'continue' ? d.thresholdBytes : 0, 300_000);
});

test('an estimate under the threshold asks for the exact figure, stopping the VM first when that needs it', (t) => {
  const cheap = decideSwitchover({ ...base, pendingEstimateBytes: 200_000 });
  t.deepEqual(cheap, { action: 'query-exact', stopVmFirst: false, thresholdBytes: 300_000 });
  const costly = decideSwitchover({ ...base, pendingEstimateBytes: 200_000, exactRequiresStop: true });
  t.true(costly.action === 'query-exact' && costly.stopVmFirst);
});

test('the exact figure decides: above the threshold continue, at or below switch over', (t) => {
  const above = decideSwitchover({ ...base, pendingEstimateBytes: 200_000, exactPendingBytes: 450_000 });
  t.is(above.action === 'continue' ? above.reason : above.action, 'exact-above-threshold');
  const at = decideSwitchover({ ...base, pendingEstimateBytes: 200_000, exactPendingBytes: 300_000 });
  t.is(at.action, 'switchover', 'pending / bandwidth == downtime limit is allowed');
  t.is(at.action === 'switchover' ? at.expectedDowntimeMs : -1, 300);
});

test('nothing pending switches over even with no bandwidth measured yet', (t) => {
  const d = decideSwitchover({ bandwidthBytesPerSecond: 0, downtimeLimitMs: 300, pendingEstimateBytes: 0, exactPendingBytes: 0 });
  t.deepEqual(d, { action: 'switchover', pendingBytes: 0, thresholdBytes: 0, expectedDowntimeMs: 0 });
});

test('no SWITCHOVER_ACK yet holds the switchover, and the exact figure is not asked for meanwhile', (t) => {
  const gate = new SwitchoverAckGate({ sourceEnabled: true, destinationEnabled: true, destinationDevices: ['a/vfio'] });
  const d = decideSwitchover({ ...base, pendingEstimateBytes: 1000, exactRequiresStop: true, gate: gate.status() });
  t.is(d.action === 'hold' ? d.reason : d.action, 'awaiting-switchover-ack');
});

test('an ACK that can never come is reported as such, not as a wait', (t) => {
  const gate = new SwitchoverAckGate({ sourceEnabled: true, destinationEnabled: false, destinationDevices: [] });
  gate.returnPathOpened();
  const d = decideSwitchover({ ...base, pendingEstimateBytes: 1000, exactPendingBytes: 1000, gate: gate.status() });
  t.is(d.action === 'hold' ? d.reason : d.action, 'switchover-ack-never');
});

test('negative or non-finite figures are INVALID_ARGUMENT', (t) => {
  t.throws(() => decideSwitchover({ ...base, pendingEstimateBytes: -1 }), { message: /INVALID_ARGUMENT/ });
  t.throws(() => decideSwitchover({ ...base, bandwidthBytesPerSecond: Number.NaN, pendingEstimateBytes: 0 }), { message: /INVALID_ARGUMENT/ });
});
