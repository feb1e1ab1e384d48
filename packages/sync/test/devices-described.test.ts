/**
 * devices-described on real captures: bytes added to or taken from a device's state (which QEMU
 * refuses to load, see test/devices-interop.test.ts) fail the rule, naming device, channel and
 * offset, whether the decoder had the stream's VMDESCRIPTION from the start (a plain file, read
 * from its end first) or only at the end (a gzip file, read once through).
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openCapture } from '@migwire/capture';
import { decodeMainStream, type DeviceStateRecord } from '@migwire/stream-codec';
import { checkCapture, type CheckReport, type RuleResult } from '../src/index.js';
import { capturesDir, realCaptures } from './helpers/capture-timeline.js';
import { unpackedCopy } from './helpers/synthetic-capture.js';

const PRECOPY = '10.0-c-multifd4-zstd';
const POSTCOPY = '10.0-g-postcopy-preempt';
const MAIN = 'conn00.src2dst.bin';

const check = async (path: string): Promise<CheckReport> => checkCapture(await openCapture(path, { verify: false }));
const devicesRule = (r: CheckReport): RuleResult => r.rules.find((x) => x.id === 'devices-described')!;

/** The device-state record of `idstr` in a main stream. */
function deviceState(main: Buffer, idstr: string): DeviceStateRecord {
  const { records, error } = decodeMainStream(main);
  if (error) throw error;
  const rec = records.find((r): r is DeviceStateRecord => r.kind === 'device-state' && r.idstr === idstr);
  if (!rec) throw new Error(`no ${idstr} in the stream`);
  return rec;
}

/** A copy of the capture whose main stream has `edit` applied (gzip: the file is written compressed). */
function doctored(edit: (main: Buffer) => Buffer, gzip: boolean): string {
  const dir = unpackedCopy(join(capturesDir(), PRECOPY), 'mw-devices-');
  const file = join(dir, MAIN);
  const main = edit(readFileSync(file));
  if (gzip) {
    rmSync(file);
    writeFileSync(`${file}.gz`, gzipSync(main));
  } else writeFileSync(file, main);
  return dir;
}

test('every real precopy capture: each device section is exactly as its VMDESCRIPTION describes it', async (t) => {
  let precopy = 0;
  for (const name of realCaptures()) {
    const r = devicesRule(await check(join(capturesDir(), name)));
    if (name.includes('postcopy')) {
      t.is(r.status, 'n/a', name);
      continue;
    }
    precopy++;
    t.is(r.status, 'pass', `${name}: ${r.detail}`);
    t.regex(r.detail, /^30 device sections, each exactly as the VMDESCRIPTION describes it$/, name);
  }
  t.true(precopy >= 3);
});

for (const gzip of [false, true]) {
  const how = gzip ? 'description read at the end (gzip)' : 'description read first (plain file)';
  test(`16 bytes inserted into pckbd's state fail devices-described at the first of them; ${how}`, async (t) => {
    let footer = 0;
    const dir = doctored((main) => {
      const pckbd = deviceState(main, 'pckbd');
      footer = pckbd.offset + pckbd.length;
      return Buffer.concat([main.subarray(0, footer), Buffer.alloc(16, 0xa5), main.subarray(footer)]);
    }, gzip);
    const report = await check(dir);
    const r = devicesRule(report);
    t.is(r.status, 'fail');
    t.regex(r.detail, /^device "pckbd" instance 0: the stream's VMDESCRIPTION accounts for \d+ of its \d+ bytes; a destination reads \d+ and then expects the section footer$/);
    t.is(r.channel, 'main');
    t.is(r.offset, footer);
    // The decoder alone cannot tell: the stream still decodes to its end.
    t.is(report.rules.find((x) => x.id === 'decodes')!.status, 'pass');
    t.false(report.ok);
    rmSync(dir, { recursive: true, force: true });
  });

  test(`a device state cut short (2 bytes fewer in its last field) fails, naming the device; ${how}`, async (t) => {
    const dir = doctored((main) => {
      const rtc = deviceState(main, 'mc146818rtc');
      const end = rtc.offset + rtc.length;
      return Buffer.concat([main.subarray(0, end - 2), main.subarray(end)]);
    }, gzip);
    const report = await check(dir);
    t.false(report.ok);
    if (gzip) {
      // Read once through, the decoder ends the section at its footer; the rule holds it to the description at the end.
      const r = devicesRule(report);
      t.is(r.status, 'fail');
      t.regex(r.detail, /^device "mc146818rtc" instance 0: its \d+ bytes do not fit the stream's VMDESCRIPTION \(field \S+ \(\S+\) runs past the section/);
    } else {
      // With the description first, the decoder itself says the footer came before the described fields.
      const d = report.rules.find((x) => x.id === 'decodes')!;
      t.is(d.status, 'fail');
      t.regex(d.detail, /section \d+ \(mc146818rtc\) ends at its footer before the fields its VMDESCRIPTION lists: its state is shorter than described \(BAD_VMSTATE\)/);
    }
    rmSync(dir, { recursive: true, force: true });
  });
}

test('a postcopy stream carries no VMDESCRIPTION: devices-described is n/a, saying so', async (t) => {
  const r = devicesRule(await check(join(capturesDir(), POSTCOPY)));
  t.is(r.status, 'n/a');
  t.regex(r.detail, /no VMDESCRIPTION to hold 30 device sections to/);
});

/** A minimal main stream with one dirty-bitmap section whose data is `data`. */
function dirtyBitmapStream(data: Buffer): Buffer {
  const be32 = (v: number): Buffer => Buffer.from([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
  const name = Buffer.from('dirty-bitmap', 'latin1');
  return Buffer.concat([Buffer.from('QEVM', 'latin1'), be32(3), Buffer.from([0x01]), be32(2), Buffer.from([name.length]), name, be32(0), be32(1), data, Buffer.from([0x7e]), be32(2), Buffer.from([0x00])]);
}

for (const [what, data, want] of [
  ['a part without EOS', Buffer.from([0x20]), /"dirty-bitmap" section 2: no chunk says EOS: a destination reads on into the section footer/],
  ['a chunk after EOS', Buffer.from([0x01, 0x20]), /"dirty-bitmap" section 2: 1 chunks after the one that says EOS/],
  ['a bitmap buffer longer than the section', Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0x01]), /"dirty-bitmap" section 2: its chunks do not parse \(bitmap buffer runs past the section, at byte 13 of its data\)/],
] as const) {
  test(`a dirty-bitmap section with ${what} fails devices-described`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-dbm-'));
    const file = join(dir, 'stream.bin');
    writeFileSync(file, dirtyBitmapStream(data));
    const r = devicesRule(await check(file));
    t.is(r.status, 'fail');
    t.regex(r.detail, want);
    t.is(r.channel, 'main');
    rmSync(dir, { recursive: true, force: true });
  });
}
