/**
 * Per-release wire facts (src/releases): what a user sees change between QEMU 7.2, 10.0 and
 * 11.1, and the decoder options that apply a destination release's rules.
 */
import test from 'ava';
import {
  CodecError,
  MultifdDecoder,
  MultifdPacketBuilder,
  PING_PACKAGED_LOADED,
  PTR_MARKER_TYPE,
  VfioFlag,
  allowsMultifdWithPostcopy,
  checksMultifdInitId,
  commandInRelease,
  compareReleases,
  decodeMainStream,
  decodeVfioItems,
  decodeVmstate,
  decoderFor,
  encodeMainStream,
  machineTypeRelease,
  multifdLayoutFamily,
  multifdLayoutFor,
  pingValueName,
  releaseHas,
  switchoverAckMode,
  type MainRecord,
  type MainRecordInput,
} from '../src/index.js';
import { syntheticStream as syntheticBytes } from './synthetic.js';

const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

test('releases order by major then minor; machine types name their release', (t) => {
  t.true(compareReleases('10.0', '7.2') > 0);
  t.true(compareReleases('11.1', '11.0') > 0);
  t.is(compareReleases('11.1.3', '11.1'), 0);
  t.throws(() => compareReleases('eleven', '11.1'), { instanceOf: RangeError });
  t.is(machineTypeRelease('pc-q35-11.1'), '11.1');
  t.is(machineTypeRelease('pc-i440fx-7.2'), '7.2');
  t.is(machineTypeRelease('q35'), undefined);
  t.true(releaseHas('11.1', 'multifdWithPostcopy'));
  t.false(releaseHas('10.0', 'multifdWithPostcopy'));
  t.false(allowsMultifdWithPostcopy('10.0'));
});

test('command 8: ENABLE_COLO up to 10.1, DEPRECATED_0 from 10.2, rejected from 11.0', (t) => {
  t.deepEqual(commandInRelease(8, '7.2'), { name: 'ENABLE_COLO', status: 'current' });
  t.deepEqual(commandInRelease(8, '10.2'), { name: 'DEPRECATED_0', status: 'deprecated' });
  t.deepEqual(commandInRelease(8, '11.1'), { name: 'DEPRECATED_0', status: 'rejected' });
  t.deepEqual(commandInRelease(11, '11.1'), { name: 'SWITCHOVER_START', status: 'current' });
  t.is(commandInRelease(42, '11.1'), undefined);
});

test('a main decoder for an 11.1 destination refuses command 8 where it stands; for 10.0 it decodes', (t) => {
  const bytes = syntheticBytes();
  const records: MainRecord[] = [];
  t.is(decodeMainStream(bytes, { destinationRelease: '10.0' }).error, undefined);
  const colo = decodeMainStream(bytes).records.find((r) => r.kind === 'command' && r.command === 8)!;
  const err = t.throws(() => decoderFor('main', { destinationRelease: '11.1' }).write(bytes, (r) => records.push(r as MainRecord)), { instanceOf: CodecError });
  t.is(err?.code, 'UNKNOWN_COMMAND');
  t.is(err?.offset, colo.offset + 1);
  t.regex(err?.message ?? '', /DEPRECATED_0, was ENABLE_COLO\) is rejected by QEMU 11\.1/);
});

test('PING 0x42 (PACKAGED_LOADED) inside PACKAGED after PING 3 is decoded and named', (t) => {
  const ping = (value: number): MainRecordInput => ({ kind: 'command', command: 2, name: 'PING', payload: Uint8Array.from(u32(value)), args: { command: 'PING', value } });
  const pkg = encodeMainStream([
    { kind: 'command', command: 4, name: 'POSTCOPY_LISTEN', payload: new Uint8Array(0), args: { command: 'POSTCOPY_LISTEN' } },
    ping(3),
    ping(PING_PACKAGED_LOADED),
    { kind: 'command', command: 5, name: 'POSTCOPY_RUN', payload: new Uint8Array(0), args: { command: 'POSTCOPY_RUN' } },
  ]);
  const outer = encodeMainStream([
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'command', command: 7, name: 'PACKAGED', payload: Uint8Array.from(u32(pkg.length)), args: { command: 'PACKAGED', length: pkg.length } },
    { kind: 'mapped-ram-data', block: '', data: pkg },
    { kind: 'eof' },
  ] as MainRecordInput[]);
  const pings = decodeMainStream(outer).records.flatMap((r) => (r.kind === 'command' && r.args.command === 'PING' ? [{ value: r.args.value, depth: r.depth }] : []));
  t.deepEqual(pings, [
    { value: 3, depth: 1 },
    { value: 0x42, depth: 1 },
  ]);
  t.is(pingValueName(0x42), 'PACKAGED_LOADED');
  t.is(pingValueName(3), undefined);
});

test('VMState pointer markers: 0x31 valid (element follows), 0x30 null; any other byte is BAD_VMSTATE', (t) => {
  const device = {
    name: 'dev',
    instance_id: 0,
    vmsd_name: 'dev',
    version: 1,
    fields: [
      { name: 'elems', index: 0, type: PTR_MARKER_TYPE, size: 1 },
      { name: 'elems', index: 0, type: 'uint32', size: 4 },
      { name: 'elems', index: 1, type: PTR_MARKER_TYPE, size: 1 },
    ],
  };
  const v = decodeVmstate(Uint8Array.from([0x31, ...u32(7), 0x30]), device);
  t.deepEqual(v.fields.map((f) => f.value), ['valid', 7, 'null']);
  t.is(v.consumed, 6);
  const err = t.throws(() => decodeVmstate(Uint8Array.from([0x32, ...u32(7), 0x30]), device), { instanceOf: CodecError });
  t.is(err?.code, 'BAD_VMSTATE');
  t.is(err?.offset, 0);
});

test('VFIO DEV_CONFIG_LOAD_READY is a named delimiter of a VFIO section', (t) => {
  const flag = (lo: number): number[] => [0xff, 0xff, 0xff, 0xff, ...u32(lo)];
  const items = decodeVfioItems(Uint8Array.from([...flag(VfioFlag.DevConfigLoadReady), ...flag(VfioFlag.EndOfState)]));
  t.deepEqual(items.map((i) => i.name), ['DEV_CONFIG_LOAD_READY', 'END_OF_STATE']);
  t.true(releaseHas('10.1', 'vfioConfigLoadReady'));
});

test('multifd init id must be below the configured channel count (11.0+ destinations check it)', (t) => {
  const b = new MultifdPacketBuilder({ layout: '10.0', compression: 'none' });
  const init = (id: number): Uint8Array => Buffer.concat(b.init(id, new Uint8Array(16)));
  t.notThrows(() => new MultifdDecoder({ channels: 4 }).write(init(3), () => {}));
  const err = t.throws(() => new MultifdDecoder({ channels: 4 }).write(init(4), () => {}), { instanceOf: CodecError });
  t.is(err?.code, 'VALUE_OUT_OF_RANGE');
  t.is(err?.offset, 24);
  t.is(err?.expected, '< 4');
  t.notThrows(() => decoderFor('multifd').write(init(4), () => {}), 'unchecked without a channel count');
  t.throws(() => decoderFor('multifd', { multifdChannels: 2 }).write(init(4), () => {}));
  t.true(checksMultifdInitId('11.1'));
  t.false(checksMultifdInitId('10.0'));
});

test('a multifd layout reports the release family it fits, not one release', (t) => {
  t.is(multifdLayoutFamily('10.0').label, '9.0-11.1');
  t.is(multifdLayoutFamily('7.2').label, '7.2-8.2');
  t.is(multifdLayoutFor('11.1'), '10.0');
  t.is(multifdLayoutFor('10.0'), '10.0');
  t.is(multifdLayoutFor('7.2'), '7.2');
});

test('switchover-ack: per-device from machine type 11.1 on an 11.1 binary, legacy otherwise or when asked', (t) => {
  t.is(switchoverAckMode({ machine: 'pc-q35-11.1' }).mode, 'per-device');
  t.is(switchoverAckMode({ machine: 'pc-q35-11.0' }).mode, 'legacy');
  t.is(switchoverAckMode({ machine: 'pc-q35-11.1', legacyProperty: true }).mode, 'legacy');
  t.is(switchoverAckMode({ machine: 'pc-q35-10.0', legacyProperty: false }).mode, 'per-device');
  t.is(switchoverAckMode({ machine: 'q35', destinationRelease: '11.1' }).mode, 'per-device');
  t.is(switchoverAckMode({ machine: 'q35', destinationRelease: '10.0' }).mode, 'legacy');
  t.regex(switchoverAckMode({ machine: 'pc-q35-11.0' }).because, /machine type pc-q35-11\.0/);
});
