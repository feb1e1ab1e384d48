/**
 * meta.json, read by readCaptureMeta only: every fixture's reads, and a damaged one is one
 * CaptureError META_INVALID naming meta.json and the field (a `null` meta.json once crashed
 * `check` and `report` with a TypeError).
 */
import test from 'ava';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError, readCaptureMeta } from '../src/index.js';
import { FIXTURES, scratch } from './paths.js';

test('every fixture with a meta.json reads, its capabilities as booleans', (t) => {
  let n = 0;
  for (const name of readdirSync(FIXTURES)) {
    const dir = join(FIXTURES, name);
    if (!statSync(dir).isDirectory()) continue;
    const meta = readCaptureMeta(dir);
    if (!meta) continue;
    n++;
    for (const v of Object.values(meta.caps ?? {})) t.is(typeof v, 'boolean', name);
  }
  t.true(n > 10, `${n} fixtures with meta.json`);
});

test('a directory without meta.json has none; a stream file path has none', (t) => {
  t.is(readCaptureMeta(scratch('mw-meta-none-')), undefined);
  t.is(readCaptureMeta(join(FIXTURES, '10.0-precopy-file', 'stream.bin.gz')), undefined);
});

const damaged: Array<[string, (m: Record<string, unknown>) => unknown, RegExp]> = [
  ['null', () => null, /\(top level\): expected an object, found null/],
  ['an array', () => [1, 2], /\(top level\): expected an object, found an array of 2/],
  ['caps a list', (m) => ({ ...m, caps: ['multifd'] }), /caps: expected an object, found an array of 1/],
  ['a capability not a boolean', (m) => ({ ...m, caps: { multifd: 'on' } }), /caps\.multifd: expected true or false, found the string "on"/],
  ['a setup call null', (m) => ({ ...m, setup: [null] }), /setup\[0\]: expected an object, found null/],
  ['setup arguments a number', (m) => ({ ...m, setup: [{ side: 'dst', command: 'migrate-set-parameters', arguments: 5 }] }), /setup\[0\]\.arguments: expected an object, found 5/],
  ['a QEMU argv word a number', (m) => ({ ...m, qemu: { dst: { argv: ['-M', 7] } } }), /qemu\.dst\.argv\[1\]: expected a string, found 7/],
  ['properties null', (m) => ({ ...m, properties: null }), /properties: expected an object, found null/],
  ['tls a string', (m) => ({ ...m, tls: 'yes' }), /tls: expected false or an object, found the string "yes"/],
  // Readers hold a capture to multifd-channels: a value QEMU would not take is no count to hold it to.
  ['multifd-channels a string', (m) => ({ ...m, params: { 'multifd-channels': '4' } }), /params\.multifd-channels: expected an integer from 1 to 255, found the string "4"/],
  ['multifd-channels 0', (m) => ({ ...m, params: { 'multifd-channels': 0 } }), /params\.multifd-channels: expected an integer from 1 to 255, found 0/],
  ['multifd-channels a fraction', (m) => ({ ...m, dst_params: { 'multifd-channels': 4.5 } }), /dst_params\.multifd-channels: expected an integer from 1 to 255, found 4\.5/],
];

for (const [what, edit, want] of damaged) {
  test(`meta.json with ${what}: CaptureError META_INVALID naming the file and field`, (t) => {
    const dir = join(scratch('mw-meta-'), 'cap');
    cpSync(join(FIXTURES, '10.0-switchover-ack'), dir, { recursive: true });
    const path = join(dir, 'meta.json');
    writeFileSync(path, JSON.stringify(edit(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>)));
    const e = t.throws(() => readCaptureMeta(dir), { instanceOf: CaptureError });
    t.is((e as CaptureError).code, 'META_INVALID');
    t.is((e as CaptureError).path, path);
    t.true(e!.message.startsWith(`${path}: `), e!.message);
    t.regex(e!.message, want);
    rmSync(dir, { recursive: true, force: true });
  });
}

test('meta.json that is not JSON: META_INVALID with the parser saying where', (t) => {
  const dir = scratch('mw-meta-bad-');
  writeFileSync(join(dir, 'meta.json'), '{"caps": {');
  const e = t.throws(() => readCaptureMeta(dir), { instanceOf: CaptureError });
  t.is((e as CaptureError).code, 'META_INVALID');
  t.regex(e!.message, /meta\.json: not JSON/);
});
