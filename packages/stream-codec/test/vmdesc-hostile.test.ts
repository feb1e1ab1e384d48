/**
 * Malformed VMDESCRIPTIONs (fuzzing findings F01, F04): whether in the stream, given as the
 * `vmdesc` option, or handed to the payload API, a bad description is a typed BAD_VMDESC error
 * that names its channel and offset, never a TypeError or a stack overflow; good ones decode as before.
 */
import test, { type ExecutionContext } from 'ava';
import {
  CodecError,
  decodeMainStream,
  decodeVmstate,
  ErrorCode,
  indexVmdesc,
  isVmdesc,
  MainStreamDecoder,
  MAX_VMDESC_DEPTH,
  type MainRecord,
  type Vmdesc,
  type VmdescDevice,
} from '../src/index.js';
import { join } from 'node:path';
import { feed, rng } from './feed.js';
import { FIXTURES, readChannelFile } from './paths.js';
import { describedStreams, mutateDescription, nestedStructDevice, VARIANTS, withDescription, type DescribedStream } from './hostile-vmdesc.js';

const streams = describedStreams();

const whole = new Map<DescribedStream, Uint8Array>();
/** The stream with its own description. */
function wholeStream(s: DescribedStream): Uint8Array {
  let b = whole.get(s);
  if (!b) whole.set(s, (b = withDescription(s, JSON.stringify(s.vmdesc))));
  return b;
}

/** Run `fn`; anything thrown but a CodecError fails the test. */
function typedOnly<T>(t: ExecutionContext, what: string, fn: () => T): T | CodecError | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CodecError) return e;
    t.fail(`${what}: threw ${(e as Error)?.stack ?? String(e)}`);
    return undefined;
  }
}

/** The error says where: a channel, a byte offset within [lo, hi], both in its message. */
function assertPlaced(t: ExecutionContext, e: CodecError, channel: string, lo: number, hi: number, what: string): void {
  t.is(e.channel, channel, what);
  t.true(Number.isInteger(e.offset) && e.offset >= lo && e.offset <= hi, `${what}: offset ${e.offset} outside ${lo}..${hi}`);
  t.true(e.message.includes(`on ${channel} at byte ${e.offset}`), what);
}

/**
 * The stream with `json` as its description: records up to the description come out unchanged,
 * then either the description (well-formed) or BAD_VMDESC at its JSON, on "main".
 */
function decodeWithDescription(t: ExecutionContext, s: DescribedStream, json: string, what: string, chunk = 0): 'ok' | 'bad' {
  const bytes = withDescription(s, json);
  const jsonAt = s.prefix.length + 5;
  const r = typedOnly(t, what, () => (chunk ? feed<MainRecord>(new MainStreamDecoder(), bytes, [chunk]) : decodeMainStream(bytes)));
  if (!r || r instanceof CodecError) return 'bad';
  if (!r.error) {
    const last = r.records[r.records.length - 1];
    t.is(last?.kind, 'vmdescription', what);
    const d = last?.kind === 'vmdescription' ? (last.description as { devices?: unknown }) : undefined;
    t.true(d?.devices === undefined || isVmdesc(d), `${what}: a description that passed is well-formed`);
    return 'ok';
  }
  t.is(r.error.code, ErrorCode.BadVmdesc, `${what}: ${r.error.message}`);
  assertPlaced(t, r.error, 'main', jsonAt, bytes.length - 1, what);
  t.is(r.records.length, s.prefixRecords, `${what}: every record before the description is decoded`);
  return 'bad';
}

/** `desc` as the decoder's vmdesc option over a stream with a good description: never anything but a CodecError. */
function decodeWithOption(t: ExecutionContext, s: DescribedStream, desc: unknown, what: string): CodecError | undefined {
  const bytes = wholeStream(s);
  const r = typedOnly(t, what, () => decodeMainStream(bytes, { vmdesc: desc as Vmdesc }));
  if (!r || r instanceof CodecError) return undefined;
  if (!isVmdesc(desc)) {
    t.is(r.error?.code, ErrorCode.BadVmdesc, `${what}: a malformed option is refused`);
    if (r.error) assertPlaced(t, r.error, 'main', 0, 0, what);
    t.is(r.records.length, 0, what);
  } else if (r.error) assertPlaced(t, r.error, 'main', 0, bytes.length, what); // a well-formed but wrong description may misframe
  return r.error;
}

/** The payload API with every device entry of `desc` (and its section's bytes, when it names one). */
function payloadApi(t: ExecutionContext, s: DescribedStream, desc: unknown, what: string): void {
  const idx = typedOnly(t, `${what} indexVmdesc`, () => indexVmdesc(desc as Vmdesc));
  if (idx instanceof CodecError) {
    t.is(idx.code, ErrorCode.BadVmdesc, what);
    assertPlaced(t, idx, 'vmdesc', 0, 0, what);
  } else t.true(isVmdesc(desc), `${what}: indexVmdesc took only a well-formed description`);
  const devices = (desc as { devices?: unknown } | null)?.devices;
  if (!Array.isArray(devices)) return;
  for (const dev of devices) {
    const key = `${(dev as VmdescDevice | null)?.name}/${(dev as VmdescDevice | null)?.instance_id}`;
    const data = s.sections.get(key) ?? Uint8Array.of(1, 2, 3, 0x05);
    const r = typedOnly(t, `${what} decodeVmstate ${key}`, () => decodeVmstate(data, dev as VmdescDevice));
    if (r instanceof CodecError) assertPlaced(t, r, 'vmstate payload', 0, data.length, what);
  }
}

test('real descriptions still pass the shape check and decode every device byte', (t) => {
  t.true(streams.length >= 2);
  for (const s of streams) {
    t.true(isVmdesc(s.vmdesc), s.name);
    t.is(decodeWithDescription(t, s, JSON.stringify(s.vmdesc), s.name), 'ok');
    const { records, error } = decodeMainStream(wholeStream(s), { vmdesc: s.vmdesc });
    t.is(error, undefined, error?.message);
    const devices = records.filter((r) => r.kind === 'device-state');
    t.true(devices.length >= 20, s.name);
    for (const d of devices) if (d.kind === 'device-state') t.is(d.vmstate?.consumed, d.data.length, `${s.name} ${d.idstr}`);
  }
});

for (const v of VARIANTS) {
  test(`BAD_VMDESC, not a crash: ${v.name}`, (t) => {
    for (const s of streams) {
      const made = v.make(s.vmdesc);
      const text = 'text' in made ? made.text : JSON.stringify(made.object);
      t.is(decodeWithDescription(t, s, text, `${s.name}: ${v.name}`), 'bad');
      t.is(decodeWithDescription(t, s, text, `${s.name}: ${v.name}, fed in 4 KiB chunks`, 4096), 'bad');
      if ('object' in made) {
        t.false(isVmdesc(made.object), v.name);
        t.truthy(decodeWithOption(t, s, made.object, `${s.name}: ${v.name} as the vmdesc option`));
        payloadApi(t, s, made.object, `${s.name}: ${v.name}`);
      }
    }
  });
}

test('an old-style device (QEMU writes no vmsd_name or version, only its size and one "data" buffer) passes and decodes whole', (t) => {
  // As QEMU 7.2-11.1 describe user networking (slirp) once a -netdev user is there.
  const slirp: VmdescDevice = { name: 'slirp', instance_id: 0, size: 131, fields: [{ name: 'data', size: 131, type: 'buffer' }] };
  const s = streams[0]!;
  t.true(isVmdesc({ ...s.vmdesc, devices: [...s.vmdesc.devices, slirp] }));
  const state = Buffer.alloc(131, 7);
  const v = decodeVmstate(state, slirp);
  t.is(v.consumed, 131);
  t.deepEqual(v.fields.map((f) => [f.name, f.value]), [['data', state.toString('hex')]]);
  t.is(indexVmdesc({ devices: [slirp] }).get('slirp/0'), slirp);
});

test('a real stream of a guest with 50-odd devices (fixtures/10.0-devices-file): every device decoded field by field to its last byte', (t) => {
  const bytes = readChannelFile(join(FIXTURES, '10.0-devices-file', 'stream.bin.gz'));
  const first = decodeMainStream(bytes);
  t.is(first.error, undefined, first.error?.message);
  const vmdesc = first.records.find((r) => r.kind === 'vmdescription');
  const description = vmdesc?.kind === 'vmdescription' ? vmdesc.description : undefined;
  t.true(isVmdesc(description), 'its VMDESCRIPTION, slirp\'s old-style entry included, is well-formed');
  if (!isVmdesc(description)) return;
  t.true(description.devices.some((d) => d.name === 'slirp' && d.vmsd_name === undefined));
  const { records, error } = decodeMainStream(bytes, { vmdesc: description });
  t.is(error, undefined, error?.message);
  const devices = records.filter((r) => r.kind === 'device-state');
  t.true(devices.length >= 50, `${devices.length} device sections`);
  for (const d of devices) if (d.kind === 'device-state') t.is(d.vmstate?.consumed, d.data.length, d.idstr);
});

test('the error names the bad member and what was expected', (t) => {
  const s = streams[0]!;
  const bad = structuredClone(s.vmdesc);
  (bad.devices[1]!.fields![0] as unknown as Record<string, unknown>)['type'] = 5;
  const { error } = decodeMainStream(withDescription(s, JSON.stringify(bad)));
  t.is(error?.code, ErrorCode.BadVmdesc);
  t.is(error?.offset, s.prefix.length + 5);
  t.is(error?.reason, 'VMDESCRIPTION: devices[1].fields[0].type has the wrong type');
  t.is(error?.expected, 'a string');
  t.is(error?.found, 'number 5');
});

test(`nesting: ${MAX_VMDESC_DEPTH} levels pass, one more is BAD_VMDESC at its bracket; brackets in strings do not count`, (t) => {
  const s = streams[0]!;
  // The top-level object is level 1, "x" adds the rest.
  const nested = (levels: number): string => `{"devices":[],"x":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
  t.is(decodeWithDescription(t, s, nested(MAX_VMDESC_DEPTH), 'at the limit'), 'ok');
  const { error } = decodeMainStream(withDescription(s, nested(MAX_VMDESC_DEPTH + 1)));
  t.is(error?.code, ErrorCode.BadVmdesc);
  t.is(error?.offset, s.prefix.length + 5 + '{"devices":[],"x":'.length + MAX_VMDESC_DEPTH - 1);
  t.is(decodeWithDescription(t, s, `{"devices":[],"x":"\\"${'['.repeat(500)}"}`, 'brackets in a string'), 'ok');
  // As objects (the vmdesc option), depth is counted the same way, and a cycle is just too deep.
  const within = { devices: [nestedStructDevice(Math.floor((MAX_VMDESC_DEPTH - 5) / 3))] };
  const beyond = { devices: [nestedStructDevice(Math.floor((MAX_VMDESC_DEPTH - 5) / 3) + 1)] };
  t.true(isVmdesc(within));
  t.false(isVmdesc(beyond));
  const cyclic = structuredClone(s.vmdesc);
  const withStruct = cyclic.devices.flatMap((d) => d.fields ?? []).find((f) => f.struct)!;
  withStruct.struct!.fields = [withStruct];
  t.false(isVmdesc(cyclic));
  t.truthy(decodeWithOption(t, s, cyclic, 'a cyclic description as the option'));
  payloadApi(t, s, cyclic, 'a cyclic description');
});

test('a well-formed description that multiplies zero-byte values is cut off, not hung on', (t) => {
  const s = streams[0]!;
  const desc = structuredClone(s.vmdesc);
  const timer = desc.devices.find((d) => d.name === 'timer')!;
  const n = s.sections.get('timer/0')!.length;
  // n^6 empty structs: each array is within the section's length, together they would never end.
  let inner: VmdescDevice['fields'] = [];
  for (let i = 0; i < 6; i++) inner = [{ name: `a${i}`, type: 'struct', size: 0, array_len: n, struct: { vmsd_name: 'z', version: 1, fields: inner } }];
  timer.fields = inner;
  t.true(isVmdesc(desc));
  const started = Date.now();
  const { records, error } = decodeMainStream(wholeStream(s), { vmdesc: desc });
  t.is(error, undefined, error?.message);
  const dev = records.find((r) => r.kind === 'device-state' && r.idstr === 'timer');
  t.is(dev?.kind === 'device-state' ? dev.vmstate : 'none', undefined, 'kept as opaque bytes');
  const e = t.throws(() => decodeVmstate(s.sections.get('timer/0')!, timer), { instanceOf: CodecError });
  t.is(e?.code, ErrorCode.BadVmstate);
  t.true(Date.now() - started < 5000);
});

test('random structural mutations of real descriptions: records and BAD_VMDESC, nothing else (seeded)', (t) => {
  const random = rng(0x5eed_f01);
  let bad = 0;
  let ok = 0;
  for (const s of streams) {
    for (let k = 0; k < 200; k++) {
      const what = `${s.name} mutation ${k}`;
      const desc = mutateDescription(s.vmdesc, random);
      const chunk = k % 3 === 0 ? 1 + Math.floor(random() * 8192) : 0;
      if (decodeWithDescription(t, s, JSON.stringify(desc), what, chunk) === 'bad') bad++;
      else ok++;
      decodeWithOption(t, s, desc, `${what} as the vmdesc option`);
      payloadApi(t, s, desc, what);
    }
  }
  t.log(`${ok + bad} mutated descriptions: ${bad} BAD_VMDESC, ${ok} still well-formed`);
  // The generator is worth something only if it makes both.
  t.true(bad > 100 && ok > 10, `${bad} bad, ${ok} ok`);
});
