/**
 * `dump` of a packet capture leaves multifd payloads it does not show unread (read by position,
 * skipped run by run): what it prints must be exactly what it prints for the same migration as a
 * capture directory, and exactly what a full read of the pcap decodes, whatever the segment size.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeCapture, openCapture } from '@migwire/capture';
import type { CodecRecord } from '@migwire/stream-codec';
import { main, MemoryOutput } from '../src/index.js';
import { FIXTURES } from './paths.js';
import { tcpPcap } from './helpers/tcp-pcap.js';

const DIR = join(FIXTURES, '10.0-multifd4-zlib');
const conns = [0, 1, 2, 3, 4].map((c) => gunzipSync(readFileSync(join(DIR, `conn0${c}.src2dst.bin.gz`))));

function pcapOf(segment: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'mw-pcap-skip-')), `multifd-${segment}.pcap`);
  writeFileSync(path, tcpPcap(conns.map((bytes, i) => ({ bytes, port: 40000 + i })), segment));
  return path;
}

async function dumpLines(path: string, ...args: string[]): Promise<string[]> {
  const out = new MemoryOutput();
  const code = await main(['dump', path, '--no-summary', ...args], out);
  if (code !== 0) throw new Error(`dump ${path} exited ${code}: ${out.errors.join('\n')}`);
  // The header line and the empty return directions name the input; the records must not differ.
  return out.lines.filter((l) => !l.startsWith('#') && !l.includes('dst2src'));
}

async function records(path: string, skipPagePayloads: boolean): Promise<string[]> {
  const seen: string[] = [];
  await decodeCapture(await openCapture(path), {
    skipPagePayloads,
    onRecord: (ch, r: CodecRecord) => {
      if (ch.direction === 'src2dst') seen.push(`${ch.name} ${r.kind} ${r.offset} ${r.length}`);
    },
  });
  return seen;
}

for (const segment of [1448, 65_000]) {
  test(`dump of a multifd pcap (${segment}-byte segments) prints what dump of the capture directory prints`, async (t) => {
    const pcap = pcapOf(segment);
    t.deepEqual(await dumpLines(pcap), await dumpLines(DIR));
    t.deepEqual(await dumpLines(pcap, '--json'), await dumpLines(DIR, '--json'));
  });

  test(`records and offsets are the same whether payloads are skipped unread or read (${segment}-byte segments)`, async (t) => {
    const pcap = pcapOf(segment);
    const skipped = await records(pcap, true);
    t.true(skipped.some((l) => l.includes('multifd-packet')));
    t.deepEqual(skipped, await records(pcap, false));
  });
}
