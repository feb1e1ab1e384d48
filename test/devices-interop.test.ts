/**
 * Interop: a guest with the devices real VMs have (MANY_DEVICES), migrated to a file by each
 * release. Every device's state must decode exactly as the stream's VMDESCRIPTION describes it
 * (slirp's old-style entry once made the whole description BAD_VMDESC), `check` must pass, and a
 * real destination with the same devices must load it. The same stream with 16 bytes inserted into
 * one device's state must fail `check` (devices-described) and be refused by that destination.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMainStream, isVmdesc, type DeviceStateRecord } from '@migwire/stream-codec';
import { main, MemoryOutput } from 'migwire';
import { makeBootDisk } from './harness/guest.js';
import { launchVm, loadFromFile, MANY_DEVICES, migrateToFile, qemuBinary, requireQemu, type QemuVersion, type Vm } from './harness/qemu.js';

const MEM = 64;
const RELEASES: QemuVersion[] = ['7.2', '10.0', '11.1'];

/** `file:` where the release has it as a migration URI, else `exec:cat`. */
const kindOf = (v: QemuVersion): 'file' | 'exec' => (v === '7.2' ? 'exec' : 'file');

async function load(version: QemuVersion, path: string): Promise<{ status: string; reason: string }> {
  let dst: Vm | undefined;
  try {
    dst = await launchVm({ version, role: 'destination', memMiB: MEM, bootDisk: makeBootDisk({ startMiB: 1, endMiB: 5 }), extraArgs: [...MANY_DEVICES] });
    const r = await loadFromFile({ destination: dst, path, kind: kindOf(version), timeoutMs: 60_000 });
    return { status: r.status, reason: r.reason ?? '' };
  } finally {
    await dst?.stop();
  }
}

for (const version of RELEASES) {
  const declare = qemuBinary(version) || process.env['CI'] === 'true' ? test.serial : test.serial.skip;
  declare(`${version}: a guest with many real devices: every device decodes as described, check passes, a destination loads it; 16 bytes more in one device fail check and the load`, async (t) => {
    if (!requireQemu(t, version)) return;
    const dir = mkdtempSync(join(tmpdir(), 'mw-devices-'));
    let src: Vm | undefined;
    try {
      const path = join(dir, 'stream.bin');
      src = await launchVm({ version, role: 'source', memMiB: MEM, bootDisk: makeBootDisk({ startMiB: 1, endMiB: 5 }), extraArgs: [...MANY_DEVICES] });
      const saved = await migrateToFile({ source: src, path, kind: kindOf(version), hold: null, waitMarkers: 50 });
      t.is(saved.status, 'completed', saved.reason ?? '');
      await src.stop();
      src = undefined;

      const bytes = readFileSync(path);
      // Read through once for the description (it comes last), then again with it from the start.
      const first = decodeMainStream(bytes);
      t.is(first.error, undefined, first.error?.message);
      const description = first.records.find((r) => r.kind === 'vmdescription')?.description;
      t.true(isVmdesc(description), 'the stream ends with a well-formed VMDESCRIPTION');
      if (!isVmdesc(description)) return;
      const { records, error } = decodeMainStream(bytes, { vmdesc: description });
      t.is(error, undefined, error?.message);
      const devices = records.filter((r): r is DeviceStateRecord => r.kind === 'device-state');
      t.true(devices.length >= 50, `${devices.length} device sections`);
      for (const d of devices) t.is(d.vmstate?.consumed, d.data.length, `${d.idstr}: decoded field by field, to its last byte`);
      t.true(devices.some((d) => d.idstr === 'slirp'), 'an old-style device is among them');

      const ok = new MemoryOutput();
      t.is(await main(['check', path], ok), 0, ok.lines.join('\n'));
      t.regex(ok.lines.join('\n'), new RegExp(`PASS devices-described +${devices.length} device sections, each exactly as the VMDESCRIPTION describes it`));
      const rt = new MemoryOutput();
      t.is(await main(['check', '--roundtrip', path], rt), 0, rt.lines.slice(-3).join('\n'));
      const loaded = await load(version, path);
      t.is(loaded.status, 'completed', `the real destination loads the stream: ${loaded.reason}`);

      // 16 bytes more at the end of pckbd's state: check names it, and QEMU refuses it.
      const pckbd = devices.find((d) => d.idstr === 'pckbd')!;
      const footer = pckbd.offset + pckbd.length;
      const bad = join(dir, 'doctored.bin');
      writeFileSync(bad, Buffer.concat([bytes.subarray(0, footer), Buffer.alloc(16, 0xa5), bytes.subarray(footer)]));
      const no = new MemoryOutput();
      t.is(await main(['check', bad], no), 1);
      t.regex(no.lines.join('\n'), new RegExp(`FAIL devices-described +device "pckbd" instance 0: .*\\[main @ byte ${footer}\\]`));
      const refused = await load(version, bad);
      t.is(refused.status, 'failed', 'the real destination refuses the doctored stream');
    } finally {
      await src?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
