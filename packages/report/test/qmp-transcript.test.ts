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
