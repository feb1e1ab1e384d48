/**
 * The other commands on a tcpdump capture that began in the middle of a migration (its main
 * connection's SYN not captured): report and extract work on what was captured and say it is
 * partial; replay, transcode and fuzz mutate refuse before connecting or writing anything.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMainStream, RESUMED_BLOCK_UNKNOWN } from '@migwire/stream-codec';
import { main, MemoryOutput } from '../src/index.js';
import { midStreamFixture } from './helpers/mid-stream-pcap.js';
import { FIXTURES } from './paths.js';

const { stream, cut, skipped, path: PCAP } = midStreamFixture();
const REFUSAL = `the main channel was captured mid-stream, its start (header, configuration, RAM block list) is not in the capture (${PCAP}, channel main, decoding starts ${skipped} bytes into its capture)`;

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const o = new MemoryOutput();
  const code = await main(argv, o);
  return { code, out: o.lines.join('\n').split('\n'), err: o.errors };
}

const tmp = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

/** A listener on loopback that counts the connections and bytes it is sent. */
async function listener(): Promise<{ server: Server; port: number; seen: { connections: number; bytes: number } }> {
  const seen = { connections: 0, bytes: 0 };
  const server = createServer((s) => {
    seen.connections++;
    s.on('data', (b: Buffer) => (seen.bytes += b.length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, seen };
}

test('report: analyses what was captured, says main was captured from N bytes in, and shows no figure that needs the start', async (t) => {
  const r = await run('report', PCAP, '--json', '--out', '-');
  t.is(r.code, 0, r.err.join('\n'));
  const a = JSON.parse(r.out[0]!) as {
    notices?: string[];
    headline: { channels: Array<{ name: string; midStream?: { skipped: number } }> };
    rounds: Array<{ round: number; partial?: boolean; resentPages?: number; dirtyRate?: number; pages: number }>;
    hotPages: { unknown?: string; resentPages?: number; blocks: unknown[] };
    switchover: { explanation: string };
  };
  t.true(a.notices?.[0]?.includes(`The main channel was captured mid-stream (its SYN was not captured): decoding starts at the first RAM record found, ${skipped} bytes into its capture`), String(a.notices));
  t.deepEqual(a.headline.channels.find((c) => c.name === 'main')?.midStream, { skipped });
  t.true(a.rounds.length > 1);
  t.true(a.rounds[0]!.partial);
  t.is(a.rounds[0]!.dirtyRate, undefined);
  t.true(a.rounds.every((x) => x.resentPages === undefined), 're-sent pages need the rounds before the capture');
  t.true(a.hotPages.unknown?.startsWith('not known: the main channel was captured mid-stream'));
  t.is(a.hotPages.resentPages, undefined);
  t.deepEqual(a.hotPages.blocks, []);
  t.regex(a.switchover.explanation, / captured rounds?\b/);

  const html = join(tmp('mw-midstream-report-'), 'r.html');
  const h = await run('report', PCAP, '--out', html);
  t.is(h.code, 0, h.err.join('\n'));
  const page = readFileSync(html, 'utf8');
  t.true(page.includes('<div id="notices" class="notice">'));
  t.true(page.includes(`${skipped} bytes into its capture`));
  t.true(page.includes('(began before the capture)'));
  const headline = /<p id="headline-text">([^<]*)<\/p>/.exec(page)![1]!;
  t.true(headline.includes('check: every rule checked holds;'), headline);
  t.false(headline.includes('every rule holds'));
  t.false(headline.includes('plain precopy'), 'capabilities announced at the start are not known');
  t.false(headline.includes('stream complete'));
});

test('extract: writes the pages captured, marks every block partial, counts the pages of an unnamed block, exit 1', async (t) => {
  const parent = tmp('mw-midstream-extract-');
  const out = join(parent, 'ram');
  const r = await run('extract', PCAP, '--out', out, '--quiet');
  t.is(r.code, 1, r.err.join('\n'));
  t.true(r.err.includes(`migwire: the images are partial: the stream's start was not captured (main channel main, decoding starts ${skipped} bytes into its capture); they hold only the pages captured (the rest read as zero), each block's length ends at its last captured page`), r.err.join('\n'));
  // Pages whose block was named before the capture began: the codec says how many there are.
  const unnamed = decodeMainStream(stream.subarray(cut + skipped), { resumeInRam: {} }).records.filter((x) => x.kind.startsWith('ram-') && 'block' in x && x.block === RESUMED_BLOCK_UNKNOWN).length;
  t.true(unnamed > 0, 'the fixture cuts inside a run of CONTINUE pages');
  t.true(r.err.includes(`migwire: ${unnamed} page(s) of the block named before the capture began are not attributed to any block (not written)`));
  t.true(r.out.includes(`partial: the stream's start was not captured; ${unnamed} unattributed page(s), 0 XBZRLE page(s) without a base`));
  t.false(r.err.some((l) => l.includes('stopped early')), 'the captured part decodes to its end');

  const blocks = JSON.parse(readFileSync(join(out, 'blocks.json'), 'utf8')) as Array<{ name: string; file: string; length: number; pagesWritten: number; partial?: boolean }>;
  t.true(blocks.length > 0 && blocks.every((b) => b.partial === true));
  t.deepEqual(readdirSync(parent), ['ram'], 'nothing written outside --out');
  t.deepEqual(readdirSync(out).sort(), ['blocks.json', ...blocks.map((b) => b.file)].sort());

  // Every page with data equals the destination's page (the whole recording's extract).
  const whole = join(tmp('mw-midstream-whole-'), 'ram');
  t.is((await run('extract', join(FIXTURES, '10.0-precopy-file'), '--out', whole, '--quiet')).code, 0);
  const wholeBlocks = JSON.parse(readFileSync(join(whole, 'blocks.json'), 'utf8')) as Array<{ name: string; file: string; length: number }>;
  const ram = blocks.find((b) => b.name === 'pc.ram')!;
  t.true(ram.pagesWritten > 0);
  for (const b of blocks) {
    const w = wholeBlocks.find((x) => x.name === b.name)!;
    t.true(b.length <= w.length, b.name);
    const part = readFileSync(join(out, b.file));
    const full = readFileSync(join(whole, w.file));
    for (let o = 0; o < part.length; o += 4096) {
      const page = part.subarray(o, o + 4096);
      if (page.some((x) => x !== 0)) t.true(page.equals(full.subarray(o, o + 4096)), `${b.name} page 0x${o.toString(16)}`);
    }
  }
});

test('extract --block: blocks are those the captured part names', async (t) => {
  const r = await run('extract', PCAP, '--out', join(tmp('mw-midstream-block-'), 'ram'), '--block', 'nope', '--quiet');
  t.is(r.code, 2);
  t.regex(r.err.at(-1)!, /^migwire: --block nope: no such RAM block named in the captured part of .*mid\.pcap \(blocks: .*pc\.ram/);
});

for (const command of ['replay', 'transcode'] as const) {
  test(`${command}: refuses a capture that missed main's start before connecting, exit 1, nothing sent or written`, async (t) => {
    const { server, port, seen } = await listener();
    const out = join(tmp(`mw-midstream-${command}-`), 'out');
    try {
      // replay --out would write what it sent as a capture directory; transcode writes nothing locally.
      const r = await run(command, PCAP, '--target', `127.0.0.1:${port}`, ...(command === 'replay' ? ['--out', out] : ['--channels', '2']));
      t.is(r.code, 1);
      t.deepEqual(r.err, [`migwire: cannot ${command}: a destination QEMU needs the migration from its first byte: ${REFUSAL}`]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      t.deepEqual(seen, { connections: 0, bytes: 0 });
      t.false(existsSync(out));
    } finally {
      server.close();
    }
  });
}

test('fuzz mutate: refuses a seed whose start was not captured, exit 1, nothing written', async (t) => {
  const out = join(tmp('mw-midstream-fuzz-'), 'mutants');
  const r = await run('fuzz', 'mutate', PCAP, '--count', '2', '--out', out);
  t.is(r.code, 1);
  t.deepEqual(r.err, [`migwire: cannot use main as a fuzz seed: a seed must hold its stream from the start: ${REFUSAL}`]);
  t.false(existsSync(out));
});
