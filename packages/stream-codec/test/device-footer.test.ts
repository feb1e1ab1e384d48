/**
 * A device section has no length: it ends at its footer (0x7e + section id). Device data can hold
 * that same pattern (a real QEMU 11.1 timer section did: `...8c 7e 00000000 00000000...` in
 * section 0), which cut the section short and failed the stream with AFTER_EOF in about one
 * recording in fifteen. The stream's own description, when there is one, and the rule that two
 * EOFs never follow each other must frame it right.
 */
import test from 'ava';
import { decodeMainStream, encodeMainStream, type MainRecordInput } from '../src/index.js';
import { SYNTHETIC_VMDESC } from './synthetic.js';

const u32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
// The timer's real description (3 x 8 bytes; the optional subsection is not in these streams).
const TIMER_VMDESC = SYNTHETIC_VMDESC;

function stream(timerData: number[], withVmdesc: boolean): Uint8Array {
  const records: MainRecordInput[] = [
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'configuration', machine: 'pc-q35-11.1', subsections: [] },
    { kind: 'section', sectionType: 'full', sectionId: 0, idstr: 'timer', instanceId: 0, versionId: 2 },
    { kind: 'device-state', sectionId: 0, idstr: 'timer', data: Uint8Array.from(timerData) },
    { kind: 'footer', sectionId: 0 },
    { kind: 'eof' },
  ];
  if (withVmdesc) records.push({ kind: 'vmdescription', json: Buffer.from(JSON.stringify(TIMER_VMDESC)) });
  return encodeMainStream(records);
}

// The bytes of the recording that failed: a false footer for section 0 at byte 7, then zeros.
const REAL = [0, 0, 0, 0, 0x48, 0xe5, 0x8c, 0x7e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1c, 0x14, 0x38, 0xd5];

test('a timer section holding 0x7e + its id followed by zeros decodes whole, with and without the description', (t) => {
  for (const withVmdesc of [true, false]) {
    const bytes = stream(REAL, withVmdesc);
    const { records, error } = decodeMainStream(bytes, withVmdesc ? { vmdesc: TIMER_VMDESC } : {});
    t.is(error, undefined, `vmdesc ${withVmdesc}`);
    const dev = records.find((r) => r.kind === 'device-state');
    t.is(dev?.length, 24, `vmdesc ${withVmdesc}`);
    if (withVmdesc) t.is(dev?.kind === 'device-state' ? dev.vmstate?.fields.length : 0, 3);
    t.deepEqual(records.map((r) => r.kind).slice(-2), withVmdesc ? ['eof', 'vmdescription'] : ['footer', 'eof']);
  }
});

test('a false footer followed by bytes that pass for EOF + VMDESCRIPTION: the description rules it out', (t) => {
  // 0x7e + id 0, then 0x00 0x06: by its look an EOF and a VMDESCRIPTION; the description says 24 bytes.
  const data = [1, 2, 3, 0x7e, ...u32(0), 0x00, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
  const bytes = stream(data, true);
  const { records, error } = decodeMainStream(bytes, { vmdesc: TIMER_VMDESC });
  t.is(error, undefined);
  const dev = records.find((r) => r.kind === 'device-state');
  t.is(dev?.length, 24);
  t.deepEqual(dev?.kind === 'device-state' ? Array.from(dev.data) : [], data);
});
