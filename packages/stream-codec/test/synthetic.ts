/**
 * A small main stream holding every record type, command and RAM flag,
 * built with the encoder: the split and error tests need something short
 * enough to feed at every split point.
 */
import { encodeMainStream, encodeXbzrle, type MainRecordInput } from '../src/index.js';

const page = (fill: number): Uint8Array => new Uint8Array(4096).fill(fill);
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const u64 = (v: number): number[] => [...u32(Math.floor(v / 2 ** 32)), ...u32(v >>> 0)];
const str = (s: string): number[] => [...Buffer.from(s, 'latin1')];

export const SYNTHETIC_VMDESC = {
  page_size: 4096,
  devices: [
    {
      name: 'timer',
      instance_id: 0,
      vmsd_name: 'timer',
      version: 2,
      fields: [
        { name: 'cpu_ticks_offset', type: 'int64', size: 8 },
        { name: 'dummy', type: 'int64', size: 8 },
        { name: 'cpu_clock_offset', type: 'int64', size: 8 },
      ],
      subsections: [{ vmsd_name: 'timer/dticks', version: 1, fields: [{ name: 'dticks', type: 'uint32', size: 4 }] }],
    },
  ],
};

function packagedBody(): Uint8Array {
  // A nested stream: LISTEN, a FULL section with footer, PING 3, RUN (what postcopy packages hold).
  return encodeMainStream([
    { kind: 'command', command: 4, name: 'POSTCOPY_LISTEN', payload: bytes(), args: { command: 'POSTCOPY_LISTEN' } },
    { kind: 'section', sectionType: 'full', sectionId: 9, idstr: 'apic', instanceId: 0, versionId: 3 },
    { kind: 'device-state', sectionId: 9, idstr: 'apic', data: bytes(1, 2, 3, 0x7e, 0, 0, 0, 8, 4) },
    { kind: 'footer', sectionId: 9 },
    { kind: 'command', command: 2, name: 'PING', payload: bytes(...u32(3)), args: { command: 'PING', value: 3 } },
    { kind: 'command', command: 5, name: 'POSTCOPY_RUN', payload: bytes(), args: { command: 'POSTCOPY_RUN' } },
  ]);
}

export function syntheticRecords(): MainRecordInput[] {
  const pkg = packagedBody();
  const old = page(7);
  const neu = page(7);
  neu[0] = 8;
  neu[100] = 9;
  const vmdescJson = Buffer.from(JSON.stringify(SYNTHETIC_VMDESC));
  const timerData = bytes(...u64(1), ...u64(2), ...u64(3), 0x05, 12, ...str('timer/dticks'), ...u32(1), ...u32(42));
  return [
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'configuration', machine: 'pc-q35-10.0', subsections: [{ name: 'configuration/capabilities', version: 1, capabilities: ['x-ignore-shared'] }] },
    { kind: 'command', command: 1, name: 'OPEN_RETURN_PATH', payload: bytes(), args: { command: 'OPEN_RETURN_PATH' } },
    { kind: 'command', command: 2, name: 'PING', payload: bytes(...u32(1)), args: { command: 'PING', value: 1 } },
    { kind: 'command', command: 3, name: 'POSTCOPY_ADVISE', payload: bytes(...u64(4096), ...u64(4096)), args: { command: 'POSTCOPY_ADVISE', pageSizeSummary: 4096, targetPageSize: 4096 } },
    { kind: 'command', command: 8, name: 'ENABLE_COLO', payload: bytes(), args: { command: 'ENABLE_COLO' } },
    { kind: 'section', sectionType: 'start', sectionId: 2, idstr: 'ram', instanceId: 0, versionId: 4 },
    { kind: 'ram-mem-size', sectionId: 2, flags: 0x04, totalBytes: 0x10000 + 0x2000 },
    { kind: 'ram-block', sectionId: 2, block: { name: 'pc.ram', usedLength: 0x10000, address: 0 } },
    { kind: 'ram-block', sectionId: 2, block: { name: 'pc.bios', usedLength: 0x2000, address: 0xfffe0000 } },
    { kind: 'ram-multifd-flush', sectionId: 2, flags: 0x200 },
    { kind: 'ram-eos', sectionId: 2, flags: 0x10 },
    { kind: 'footer', sectionId: 2 },
    { kind: 'section', sectionType: 'part', sectionId: 2, idstr: 'ram' },
    { kind: 'ram-page', sectionId: 2, flags: 0x08, block: 'pc.ram', pageOffset: 0x1000, data: old },
    { kind: 'ram-zero', sectionId: 2, flags: 0x22, block: 'pc.ram', pageOffset: 0x2000, fill: 0 },
    { kind: 'ram-xbzrle', sectionId: 2, flags: 0x60, block: 'pc.ram', pageOffset: 0x1000, encoding: 1, delta: encodeXbzrle(old, neu) },
    { kind: 'ram-page', sectionId: 2, flags: 0x08, block: 'pc.bios', pageOffset: 0x1000, data: page(0xaa) },
    { kind: 'ram-hook', sectionId: 2, flags: 0x80 },
    { kind: 'ram-eos', sectionId: 2, flags: 0x10 },
    { kind: 'footer', sectionId: 2 },
    { kind: 'command', command: 6, name: 'POSTCOPY_RAM_DISCARD', payload: bytes(0, 6, ...str('pc.ram'), 0, ...u64(0x3000), ...u64(0x1000)), args: { command: 'POSTCOPY_RAM_DISCARD', version: 0, block: 'pc.ram', ranges: [{ start: 0x3000, length: 0x1000 }] } },
    { kind: 'command', command: 7, name: 'PACKAGED', payload: bytes(...u32(pkg.length)), args: { command: 'PACKAGED', length: pkg.length } },
    { kind: 'mapped-ram-data', block: '', data: pkg }, // the nested stream's bytes (re-decoded as records)
    { kind: 'command', command: 9, name: 'POSTCOPY_RESUME', payload: bytes(), args: { command: 'POSTCOPY_RESUME' } },
    { kind: 'command', command: 10, name: 'RECV_BITMAP', payload: bytes(6, ...str('pc.ram')), args: { command: 'RECV_BITMAP', block: 'pc.ram' } },
    { kind: 'command', command: 11, name: 'SWITCHOVER_START', payload: bytes(), args: { command: 'SWITCHOVER_START' } },
    { kind: 'section', sectionType: 'end', sectionId: 2, idstr: 'ram' },
    { kind: 'ram-eos', sectionId: 2, flags: 0x10 },
    { kind: 'footer', sectionId: 2 },
    { kind: 'section', sectionType: 'full', sectionId: 5, idstr: 'timer', instanceId: 0, versionId: 2 },
    { kind: 'device-state', sectionId: 5, idstr: 'timer', data: timerData },
    { kind: 'footer', sectionId: 5 },
    { kind: 'section', sectionType: 'start', sectionId: 6, idstr: '0000:00:04.0/vfio', instanceId: 0, versionId: 1 },
    { kind: 'device-state', sectionId: 6, idstr: '0000:00:04.0/vfio', data: bytes(...u32(0xffffffff), ...u32(0xef100003), ...u32(0xffffffff), ...u32(0xef100001)) },
    { kind: 'footer', sectionId: 6 },
    { kind: 'section', sectionType: 'end', sectionId: 6, idstr: '0000:00:04.0/vfio' },
    { kind: 'device-state', sectionId: 6, idstr: '0000:00:04.0/vfio', data: bytes(...u32(0xffffffff), ...u32(0xef100004), ...u64(3), 1, 2, 3, ...u32(0xffffffff), ...u32(0xef100005)) },
    { kind: 'footer', sectionId: 6 },
    { kind: 'eof' },
    { kind: 'vmdescription', json: vmdescJson },
  ];
}

/** The synthetic stream's bytes. */
export function syntheticStream(): Buffer {
  return Buffer.from(encodeMainStream(syntheticRecords()));
}
