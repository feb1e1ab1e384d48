/**
 * A QMP transcript is read line by line; a damaged line (null, an array, members of the wrong
 * type) is skipped and the rest still counts. A `null` line once crashed `report` with a TypeError.
 */
import test from 'ava';
import { parseQmpTranscript } from '../src/index.js';

test('null lines, null members, null capabilities and a negative downtime limit are skipped; the good lines still count', (t) => {
  const lines = [
    'null',
    '[1,2]',
    '{"t": 1, "msg": null}',
    '{"t": 1, "dir": "out", "msg": {"execute": "migrate-set-capabilities", "id": 1, "arguments": {"capabilities": [null, 5, {"capability": "multifd", "state": true}]}}}',
    '{"t": 1.5, "dir": "out", "msg": {"execute": "migrate-set-parameters", "id": 2, "arguments": null}}',
    '{"t": 1.8, "dir": "out", "msg": {"execute": "migrate-set-parameters", "id": 7, "arguments": {"downtime-limit": -5}}}',
    '{"t": 2, "dir": "out", "msg": {"execute": "migrate-set-parameters", "id": 3, "arguments": {"downtime-limit": 500}}}',
    '{"t": 3, "dir": "out", "msg": {"execute": "migrate", "id": 4, "arguments": {"uri": "tcp:x"}}}',
    '{"t": 4, "dir": "out", "msg": {"execute": "query-migrate", "id": 5}}',
    '{"t": 4.1, "dir": "in", "msg": {"return": {"status": "active", "ram": null}, "id": 5}}',
    '{"t": 4.2, "dir": "in", "msg": {"return": null, "id": 6}}',
  ];
  const q = parseQmpTranscript(lines.join('\n'));
  t.deepEqual(q.capabilities, { multifd: true });
  t.deepEqual(q.downtimeLimits, [{ t: 2, ms: 500 }]);
  t.is(q.migrateAt, 3);
  t.is(q.migrateAnswers.length, 1);
  t.is(q.migrateAnswers[0]!.status, 'active');
});

// Found by a sweep: a downtime-limit QEMU would never hold was skipped without a word (or, 1e308,
// used), and the report reached the opposite verdict.
test('downtime-limit values QEMU would refuse are skipped and said, with their line', (t) => {
  const line = (v: unknown): string => JSON.stringify({ t: 1, msg: { execute: 'migrate-set-parameters', arguments: { 'downtime-limit': v } } });
  const q = parseQmpTranscript([line(300), line('2000'), line(-5), line(1e308), line(2.5)].join('\n'));
  t.deepEqual(q.downtimeLimits.map((d) => d.ms), [300]);
  t.deepEqual(q.rejected, [
    'line 2: downtime-limit "2000" is not a limit QEMU holds (whole ms, 0 to 2000000): skipped',
    'line 3: downtime-limit -5 is not a limit QEMU holds (whole ms, 0 to 2000000): skipped',
    'line 4: downtime-limit 1e+308 is not a limit QEMU holds (whole ms, 0 to 2000000): skipped',
    'line 5: downtime-limit 2.5 is not a limit QEMU holds (whole ms, 0 to 2000000): skipped',
  ]);
});
