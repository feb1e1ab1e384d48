/**
 * A tcpdump capture that began in the middle of a migration: the real QEMU 10.0 precopy stream
 * (fixtures/10.0-precopy-file) captured from inside its RAM records. dump decodes main from the
 * first RAM record found and says so; check checks what it can and says which rules it could not.
 */
import test from 'ava';
import { main, MemoryOutput } from '../src/index.js';
import { midStreamFixture } from './helpers/mid-stream-pcap.js';

const { skipped, path: PCAP } = midStreamFixture();

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const o = new MemoryOutput();
  const code = await main(argv, o);
  return { code, out: o.lines.join('\n').split('\n'), err: o.errors };
}

test('dump decodes a main stream captured from mid-way from its first RAM record, and says so', async (t) => {
  const r = await run('dump', PCAP);
  t.is(r.code, 0, r.err.join('\n'));
  t.true(r.out.some((l) => l.startsWith('# note: ') && l.includes(`its SYN was not captured; decoding starts at the first RAM record found, ${skipped} bytes in`)), r.out.slice(0, 5).join('\n'));
  t.true(r.out.some((l) => /^main +0x00000000 +\d+ +RAM PAGE/.test(l) || /^main +0x00000000 /.test(l)));
  t.true(r.out.some((l) => /^main +0x[0-9a-f]+ +1 +EOF/.test(l)));
  t.true(r.out.some((l) => /^channel main \(main\): .* decoded to the end$/.test(l)));
});

test('check passes what it could check, names the rules it could not, and never says every rule holds', async (t) => {
  const r = await run('check', PCAP);
  t.is(r.code, 0, r.out.join('\n'));
  t.true(r.out.some((l) => /^PASS decodes +1 channel decoded to the end \(main from \d+ bytes into its capture\)/.test(l)), r.out.join('\n'));
  t.true(r.out.some((l) => /^N\/A +switchover-ack +not checked: the capture missed the start of main/.test(l)));
  t.false(r.out.includes('check: every rule holds'));
  t.regex(r.out.at(-1)!, /^check: every rule checked holds; \d+ not checked \(the capture missed the start of a channel they need\): .*switchover-ack/);
  const json = await run('check', PCAP, '--json');
  const rep = JSON.parse(json.out[0]!) as { ok: boolean; notChecked: string[] };
  t.true(rep.ok);
  t.true(rep.notChecked.includes('removed-commands'));
  const rt = await run('check', '--roundtrip', PCAP);
  t.is(rt.code, 0, rt.out.join('\n'));
  t.true(rt.out.includes('round trip: every byte of every channel matches'));
});
