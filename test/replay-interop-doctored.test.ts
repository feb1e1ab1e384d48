/**
 * Interop: doctored captures replayed into real QEMU (a byte flipped in a device section, a
 * truncated main, bad page flags mid-stream) must give a report with QEMU's error and the offsets
 * sent on each channel.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCapture, openCapture, restampIndex } from '@migwire/capture';
import { destinationSettings } from 'migwire';
import { qemuBinary, requireQemu } from './harness/qemu.js';
import { haveShared, replayInto, SHARED } from './helpers/replay.js';
import { copyUnpacked } from './helpers/unpacked.js';

(haveShared && (qemuBinary('10.0') || process.env['CI'] === 'true') ? test.serial : test.serial.skip)(
  'doctored captures (a byte flipped in a device section, a truncated main, bad page flags mid-stream): QEMU\'s error next to the offset sent on each channel',
  async (t) => {
    if (!requireQemu(t, '10.0')) return;
    const base = join(SHARED, '10.0-c-multifd4-zstd');
    const settings = destinationSettings(base)!;

    // 1. The first byte of the "cpu" section's idstr becomes 'x': QEMU finds no section "xpu".
    const flipped = mkdtempSync(join(tmpdir(), 'mw-replay-flip-'));
    copyUnpacked(base, flipped);
    let cpuAt = -1;
    await decodeCapture(await openCapture(flipped), {
      only: (ch) => ch.name === 'main',
      onRecord: (_ch, r) => {
        if (cpuAt < 0 && r.kind === 'section' && 'idstr' in r && r.idstr === 'cpu') cpuAt = r.offset + 6;
      },
    });
    t.true(cpuAt > 0, 'found the cpu section');
    const mainPath = join(flipped, 'conn00.src2dst.bin');
    const bytes = readFileSync(mainPath);
    t.is(bytes[cpuAt], 'c'.charCodeAt(0));
    bytes[cpuAt] = 'x'.charCodeAt(0);
    writeFileSync(mainPath, bytes);
    restampIndex(flipped); // doctored on purpose: index.json follows
    const a = await replayInto(flipped, { version: '10.0', caps: settings.caps, params: settings.params, exitOnError: false, cli: true });
    try {
      t.is(a.report.outcome, 'failed');
      t.is(a.report.destination?.status, 'failed');
      t.regex(a.report.destination?.errorDesc ?? '', /load of migration failed/);
      t.truthy(a.report.failure);
      t.deepEqual(a.report.failure!.sentAt.map((s) => s.name), ['main', 'multifd 0', 'multifd 1', 'multifd 2', 'multifd 3']);
      for (const s of a.report.failure!.sentAt) t.true(s.sent <= s.total);
      t.true(a.report.failure!.sentAt[0]!.sent > cpuAt, 'main had been sent past the flipped byte');
      t.regex(a.text, /destination error: load of migration failed/);
      t.regex(a.text, /FAILED: destination QEMU: load of migration failed[\s\S]*first sign at [\d.]+ s:[\s\S]*conn00 main\s+byte offset \d+ of \d+[\s\S]*conn04 multifd 3\s+byte offset \d+/);
      t.regex(a.dst.output, /Unknown savevm section or instance 'xpu'/);
      t.true(a.report.destination!.events.some((e) => e.event === 'MIGRATION' && e.data?.['status'] === 'failed'), 'the MIGRATION failed event is in the report');
      t.regex(a.text, /event MIGRATION \{"status":"failed"\}/);
    } finally {
      await a.dst.stop();
      rmSync(flipped, { recursive: true, force: true });
    }

    // 2. Main cut inside the cpu section (past it comes mostly the VMDESCRIPTION trailer, which
    //    QEMU reads but does not need): the destination reads EOF in the middle of device state.
    const cut = mkdtempSync(join(tmpdir(), 'mw-replay-cut-'));
    copyUnpacked(base, cut);
    const half = cpuAt + 100;
    truncateSync(join(cut, 'conn00.src2dst.bin'), half);
    restampIndex(cut);
    const b = await replayInto(cut, { version: '10.0', caps: settings.caps, params: settings.params, exitOnError: false, cli: true });
    try {
      t.is(b.report.outcome, 'failed');
      t.regex(b.report.destination?.errorDesc ?? '', /fail/i);
      t.is(b.report.failure!.sentAt[0]!.total, half);
      t.true(b.report.failure!.sentAt[0]!.sent <= half);
      t.regex(b.text, /destination error: /);
    } finally {
      await b.dst.stop();
      rmSync(cut, { recursive: true, force: true });
    }

    // 3. A RAM page record 4 MB into the postcopy capture's main gets impossible flags: QEMU fails in
    //    the middle of precopy, the preempt channel was never opened, main stopped soon after the byte.
    const pc = join(SHARED, '10.0-g-postcopy-preempt');
    const mid = mkdtempSync(join(tmpdir(), 'mw-replay-mid-'));
    copyUnpacked(pc, mid);
    let pageAt = -1;
    await decodeCapture(await openCapture(mid), { only: (ch) => ch.name === 'main', onRecord: (_ch, r) => void (pageAt < 0 && r.offset > 4_000_000 && r.kind === 'ram-page' && (pageAt = r.offset)) });
    const midMain = join(mid, 'conn00.src2dst.bin');
    const mb = readFileSync(midMain);
    mb[pageAt + 6] = mb[pageAt + 6]! | 0x0f; // the be64 address+flags word: flags in its low 12 bits
    mb[pageAt + 7] = 0xff;
    writeFileSync(midMain, mb);
    restampIndex(mid);
    const pcSettings = destinationSettings(pc)!;
    const c = await replayInto(mid, { version: '10.0', caps: pcSettings.caps, params: pcSettings.params, running: true, exitOnError: false, cli: true });
    try {
      t.is(c.report.outcome, 'failed', c.text);
      t.is(c.report.timing, 'recorded');
      const [m, p] = c.report.failure!.sentAt;
      t.true(m!.sent > pageAt && m!.sent < m!.total, `main sent ${m!.sent} of ${m!.total}, the bad record at ${pageAt}`);
      t.is(p!.sent, 0);
      t.is(c.report.connections[1]!.end, 'not-connected');
      t.regex(c.text, /conn00 main\s+byte offset \d+ of 18289788/);
    } finally {
      await c.dst.stop();
      rmSync(mid, { recursive: true, force: true });
    }
  },
);
