/**
 * The rules on the real QEMU captures (fixtures/): every rule holds on each, and a doctored copy
 * (a SYNC removed or moved, a page injected after postcopy, a channel id repeated, a PONG
 * dropped) fails the rule it breaks, naming channel and byte offset.
 */
import test from 'ava';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCapture } from '@migwire/capture';
import { decodeMultifdChannel, encodeMultifdRecord, type MultifdRamPacketRecord, type MultifdRecord } from '@migwire/stream-codec';
import { checkCapture, type CheckReport, type RuleId, type RuleResult } from '../src/index.js';
import { capturesDir, realCaptures } from './helpers/capture-timeline.js';
import { unpackedCopy } from './helpers/synthetic-capture.js';

const CAPTURES = realCaptures();
const MULTIFD = '10.0-c-multifd4-zstd';
const POSTCOPY = '10.0-g-postcopy-preempt';

// Doctored copies differ from their index.json on purpose: no content check.
const check = async (path: string): Promise<CheckReport> => checkCapture(await openCapture(path, { verify: false }));

function rule(r: CheckReport, id: RuleId): RuleResult {
  const x = r.rules.find((y) => y.id === id);
  if (!x) throw new Error(`no rule ${id}`);
  return x;
}

const copyCapture = (name: string): string => unpackedCopy(join(capturesDir(), name), 'mw-doctored-');

function rewriteMultifd(file: string, edit: (records: MultifdRecord[]) => MultifdRecord[]): void {
  const { records, error } = decodeMultifdChannel(readFileSync(file));
  if (error) throw error;
  writeFileSync(file, Buffer.concat(edit(records).map((r) => encodeMultifdRecord(r))));
}

for (const name of CAPTURES) {
  test(`every rule holds on the real capture ${name}`, async (t) => {
    const report = await check(join(capturesDir(), name));
    t.true(report.ok, JSON.stringify(report.rules.filter((r) => r.status === 'fail')));
    t.is(rule(report, 'decodes').status, 'pass');
    if (name.includes('multifd')) for (const r of ['multifd-channel-ids', 'packet-numbers', 'sync-per-flush', 'round-order'] as const) t.is(rule(report, r).status, 'pass', r);
    if (name.includes('postcopy')) for (const r of ['preempt-pages-only', 'ping-pong', 'page-requests-served', 'postcopy-package', 'postcopy-ram-records', 'preempt-opened-last'] as const) t.is(rule(report, r).status, 'pass', r);
  });
}

test('a SYNC removed from one channel fails sync-per-flush, naming the channel', async (t) => {
  const dir = copyCapture(MULTIFD);
  let removedFrom = -1;
  rewriteMultifd(join(dir, 'conn02.src2dst.bin'), (recs) => {
    const i = recs.findIndex((r, k) => k > 2 && r.kind === 'multifd-packet' && r.sync);
    removedFrom = recs[0]!.kind === 'multifd-init' ? recs[0]!.channelId : -1;
    return recs.filter((_, k) => k !== i);
  });
  const report = await check(dir);
  t.false(report.ok);
  const r = rule(report, 'sync-per-flush');
  t.is(r.status, 'fail');
  t.is(r.channel, `multifd ${removedFrom}`);
  t.regex(r.detail, /48 MULTIFD_FLUSH, multifd \d has 47 SYNC/);
  t.true((r.offset ?? -1) >= 0);
  rmSync(dir, { recursive: true, force: true });
});

test('a SYNC moved to the end of its channel fails round-order (no timing to order the copies)', async (t) => {
  // Control: without chunks.csv the real capture still passes.
  const control = copyCapture(MULTIFD);
  rmSync(join(control, 'chunks.csv'));
  t.true((await check(control)).ok);
  // Move two of one channel's SYNCs to the end of the channel: the counts still match, but every
  // later packet of that channel now sits two rounds early, beside older copies of its pages.
  let failed: RuleResult | undefined;
  for (const conn of ['conn01', 'conn02', 'conn03', 'conn04']) {
    const dir = copyCapture(MULTIFD);
    rmSync(join(dir, 'chunks.csv'));
    rewriteMultifd(join(dir, `${conn}.src2dst.bin`), (recs) => {
      const syncs = recs.flatMap((r, i) => (r.kind === 'multifd-packet' && r.sync ? [i] : []));
      const moved = [syncs[10]!, syncs[11]!];
      return [...recs.filter((_, i) => !moved.includes(i)), ...moved.map((i) => recs[i]!)];
    });
    const report = await check(dir);
    rmSync(dir, { recursive: true, force: true });
    t.is(rule(report, 'sync-per-flush').status, 'pass', 'the SYNC count is unchanged');
    const r = rule(report, 'round-order');
    if (r.status === 'fail') {
      failed = r;
      break;
    }
  }
  t.truthy(failed, 'moving a SYNC must be caught on some channel');
  t.regex(failed?.channel ?? '', /^multifd \d$/);
  t.regex(failed?.detail ?? '', /two different copies in its last round/);
});

test('a multifd page injected after POSTCOPY_RUN fails no-multifd-after-postcopy with channel, packet and offset', async (t) => {
  const dir = copyCapture(POSTCOPY);
  const init = Buffer.alloc(64);
  init.writeUInt32BE(0x11223344, 0);
  init.writeUInt32BE(1, 4);
  const packet = (num: number, sync: boolean, pages: number): Buffer =>
    Buffer.from(
      encodeMultifdRecord({
        kind: 'multifd-packet', layout: '10.0', magic: 0x11223344, version: 1, flags: sync ? 1 : 0, sync, compression: 'none', pagesAlloc: sync ? 0 : 128,
        normalPages: pages, zeroPages: 0, nextPacketSize: pages * 4096, packetNum: num, block: 'pc.ram', normalOffsets: pages ? [0x100000] : [], zeroOffsets: [],
        payload: new Uint8Array(pages * 4096), raw: undefined as never,
      } as unknown as MultifdRamPacketRecord),
    );
  const sync = packet(0, true, 0);
  const data = packet(1, false, 1);
  writeFileSync(join(dir, 'conn02.src2dst.bin'), Buffer.concat([init, sync, data]));
  writeFileSync(join(dir, 'conn02.dst2src.bin'), Buffer.alloc(0));
  // Arrival: the init and SYNC at once, the data packet at the very end of the capture.
  appendFileSync(join(dir, 'chunks.csv'), `999990,0.0001,2,src2dst,0,${64 + sync.length}\n999991,9999,2,src2dst,${64 + sync.length},${data.length}\n`);
  const report = await check(dir);
  t.false(report.ok);
  const r = rule(report, 'no-multifd-after-postcopy');
  t.is(r.status, 'fail');
  t.is(r.channel, 'multifd 0');
  t.is(r.offset, 64 + sync.length);
  t.regex(r.detail, /POSTCOPY_(RUN|LISTEN).*packet #1/);
  rmSync(dir, { recursive: true, force: true });
});

test('a duplicated multifd channel id fails multifd-channel-ids', async (t) => {
  const dir = copyCapture(MULTIFD);
  const a = readFileSync(join(dir, 'conn01.src2dst.bin'));
  const b = readFileSync(join(dir, 'conn02.src2dst.bin'));
  b[24] = a[24]!;
  writeFileSync(join(dir, 'conn02.src2dst.bin'), b);
  const report = await check(dir);
  t.false(report.ok);
  const r = rule(report, 'multifd-channel-ids');
  t.is(r.status, 'fail');
  t.regex(r.detail, new RegExp(`channel id ${a[24]} .* already used`));
  t.is(r.offset, 24);
  rmSync(dir, { recursive: true, force: true });
});

test('a PONG dropped from the return path fails ping-pong, naming the PING', async (t) => {
  const dir = copyCapture(POSTCOPY);
  const rp = readFileSync(join(dir, 'conn00.dst2src.bin'));
  // The first message is PONG 1 (0002 0004 00000001): drop it.
  t.is(rp.subarray(0, 8).toString('hex'), '0002000400000001');
  writeFileSync(join(dir, 'conn00.dst2src.bin'), rp.subarray(8));
  const report = await check(dir);
  t.false(report.ok);
  const r = rule(report, 'ping-pong');
  t.is(r.status, 'fail');
  t.regex(r.detail, /PING 1 has no PONG/);
  t.is(r.channel, 'main');
  t.true((r.offset ?? 0) > 0);
  rmSync(dir, { recursive: true, force: true });
});

/** The return path's messages, as [offset, length] of each (type u16, length u16, payload). */
function returnPathMessages(rp: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let at = 0; at + 4 <= rp.length; at += 4 + rp.readUInt16BE(at + 2)) out.push([at, 4 + rp.readUInt16BE(at + 2)]);
  return out;
}

test('a return path cut at a message boundary before its SHUT fails return-path-shut, naming where it ends', async (t) => {
  const dir = copyCapture(POSTCOPY);
  const file = join(dir, 'conn00.dst2src.bin');
  const rp = readFileSync(file);
  const messages = returnPathMessages(rp);
  // The last message is SHUT 0 (type 1, length 4, status 0).
  const [shutAt] = messages.at(-1)!;
  t.is(rp.subarray(shutAt).toString('hex'), '0001000400000000');
  const cut = messages[13]![0];
  writeFileSync(file, rp.subarray(0, cut));
  const r = rule(await check(dir), 'return-path-shut');
  t.is(r.status, 'fail');
  t.regex(r.detail, /ends at byte \d+ without SHUT after 13 message/);
  t.is(r.channel, 'return-path');
  t.is(r.offset, cut);
  rmSync(dir, { recursive: true, force: true });
});

test('SHUT with a non-zero status, or a message after SHUT, fails return-path-shut', async (t) => {
  for (const [edit, want] of [
    [(rp: Buffer) => Buffer.concat([rp.subarray(0, rp.length - 4), Buffer.from('00000001', 'hex')]), /SHUT with status 1: the destination failed to load/],
    [(rp: Buffer) => Buffer.concat([rp, Buffer.from('0002000400000009', 'hex')]), /PONG after SHUT/],
  ] as const) {
    const dir = copyCapture(POSTCOPY);
    const file = join(dir, 'conn00.dst2src.bin');
    writeFileSync(file, edit(readFileSync(file)));
    const r = rule(await check(dir), 'return-path-shut');
    t.is(r.status, 'fail');
    t.regex(r.detail, want);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a page request that runs past its RAM block fails page-requests-served, naming the request', async (t) => {
  const dir = copyCapture(POSTCOPY);
  const file = join(dir, 'conn00.dst2src.bin');
  const rp = readFileSync(file);
  // The first REQ_PAGES_ID (type 3): start be64, length be32, then the block name.
  const [at] = returnPathMessages(rp).find(([o]) => rp.readUInt16BE(o) === 3)!;
  rp.writeUInt32BE(0x10000000, at + 4 + 8);
  writeFileSync(file, rp);
  const r = rule(await check(dir), 'page-requests-served');
  t.is(r.status, 'fail');
  t.regex(r.detail, /request for "pc\.ram" \+0x[0-9a-f]+ length 268435456 runs past the block's end \(0x[0-9a-f]+ bytes\)/);
  t.is(r.channel, 'return-path');
  t.is(r.offset, at);
  rmSync(dir, { recursive: true, force: true });
});

/** The capture's main stream with the first `from` (a section header's length-prefixed idstr) replaced by `to`, same length. */
function renameSection(dir: string, from: string, to: string): number {
  const file = join(dir, 'conn00.src2dst.bin');
  const main = readFileSync(file);
  const needle = Buffer.from(`${String.fromCharCode(from.length)}${from}`, 'latin1');
  const at = main.indexOf(needle);
  Buffer.from(to, 'latin1').copy(main, at + 1);
  writeFileSync(file, main);
  return at;
}

test('a device section renamed to one QEMU has no device for fails sections-known, naming it and its offset', async (t) => {
  const dir = copyCapture(MULTIFD);
  const at = renameSection(dir, 'pckbd', 'pckbz');
  const r = rule(await check(dir), 'sections-known');
  t.is(r.status, 'fail');
  t.regex(r.detail, /SECTION_FULL "pckbz" instance 0 is none of the 30 devices the stream's VMDESCRIPTION lists/);
  t.is(r.channel, 'main');
  // The section header starts 6 bytes before its idstr (type, section id, idstr length).
  t.is(r.offset, at - 5);
  rmSync(dir, { recursive: true, force: true });
});

test('a RAM section renamed fails sections-known: no "ram" section', async (t) => {
  const dir = copyCapture(MULTIFD);
  renameSection(dir, 'ram', 'r\0\0');
  const report = await check(dir);
  const r = rule(report, 'sections-known');
  t.is(r.status, 'fail');
  t.regex(r.detail, /no "ram" section/);
  t.false(report.ok);
  rmSync(dir, { recursive: true, force: true });
});
