/**
 * A main channel read with page runs (ChannelCursor's `pageRuns`, what extract reads): every page
 * taken from the runs' bytes (forEachRunPage) and every other record must be what a record-by-record
 * read gives, in the same order, with the same error at the same byte, and a page's bytes must stay
 * as they were for as long as the caller says it holds them.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MainStreamDecoder, forEachRunPage, type MainRecord } from '@migwire/stream-codec';
import { ChannelCursor, openCapture, type PageRunItem } from '../src/index.js';
import { damagedCopies, loneStream, scratch } from './paths.js';

interface Reading {
  /** One line per page ("block+offset=sha" or "block+offset zero fill") or other record ("kind@offset+length"). */
  lines: string[];
  runs: number;
  bytes: number;
  error: string | undefined;
}

/** `hold`: every buffer a page view lies in stays held (inUse says so) until the end, and each page is hashed again then. */
async function read(path: string, runs: boolean, hold = false): Promise<Reading & { changed: number }> {
  const input = await openCapture(path);
  const ch = input.channels.find((c) => c.role === 'main')!;
  const held = new Set<ArrayBufferLike>();
  const cur = new ChannelCursor<MainRecord, PageRunItem>(ch, new MainStreamDecoder({ channel: ch.name }), runs ? { pageRuns: { inUse: (b) => held.has(b) } } : {});
  const out: Reading = { lines: [], runs: 0, bytes: 0, error: undefined };
  const kept: Array<[Uint8Array, string]> = [];
  const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 16);
  const page = (block: string, offset: number, data: Uint8Array | undefined, fill: number): void => {
    if (!data) return void out.lines.push(`${block}+${offset} zero ${fill}`);
    const h = sha(data);
    out.lines.push(`${block}+${offset}=${h}`);
    if (hold) {
      held.add(data.buffer);
      kept.push([data, h]);
    }
  };
  for (let r = await cur.next(); r; r = await cur.next()) {
    if (r.kind === 'page-run') {
      out.runs++;
      spansRun(r);
      forEachRunPage(r.bytes, r.run.pageSize, r.run.blocks[0]!.block, page);
    } else if (r.kind === 'ram-page') page(r.block, r.pageOffset, r.data, 0);
    else if (r.kind === 'ram-zero') page(r.block, r.pageOffset, undefined, r.fill);
    else out.lines.push(`${r.kind}@${r.offset}+${r.length}`);
  }
  out.bytes = cur.bytes;
  out.error = cur.error && `${cur.error.code}@${cur.error.offset}: ${cur.error.message}`;
  return { ...out, changed: kept.filter(([d, h]) => sha(d) !== h).length };
}

/** A run's bytes span it exactly. */
function spansRun(r: PageRunItem): void {
  if (r.bytes.length !== r.run.end - r.run.start) throw new Error(`run ${r.run.start}..${r.run.end} came with ${r.bytes.length} bytes`);
}

for (const name of ['10.0-precopy-file', '7.2-precopy-exec', '10.0-legacy-zero-file', '10.0-xbzrle-exec']) {
  test(`${name}: read with page runs, every page and record is what a record-by-record read gives`, async (t) => {
    const dir = scratch('mw-cursor-runs-');
    try {
      const path = loneStream(name, dir);
      const want = await read(path, false);
      const got = await read(path, true);
      if (name !== '10.0-xbzrle-exec') t.true(got.runs > 0, 'runs were taken');
      t.is(got.error, want.error);
      t.is(got.bytes, want.bytes);
      t.is(got.lines.length, want.lines.length);
      t.deepEqual(got.lines, want.lines);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('pages stay as they were while the caller holds their buffers: held buffers are not read into again', async (t) => {
  const dir = scratch('mw-cursor-hold-');
  try {
    const got = await read(loneStream('10.0-precopy-file', dir), true, true);
    t.true(got.runs > 0);
    t.is(got.changed, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('index.json\'s size and sha256 are still held when the main channel is read with page runs', async (t) => {
  const dir = scratch('mw-cursor-sha-');
  try {
    const bytes = readFileSync(loneStream('10.0-precopy-file', dir));
    const cap = join(dir, 'cap');
    mkdirSync(cap);
    const sha = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(cap, 'index.json'), JSON.stringify({ format: 'qemu-migration-capture/file/1', transport: 'file', files: [{ file: 'stream.bin', size: bytes.length, sha256: sha }], connections: [] }));
    writeFileSync(join(cap, 'stream.bin'), bytes);
    t.is((await read(cap, true)).error, undefined);
    // One page byte changed after index.json was written: a run does not look at page bytes, the hash does.
    const doctored = Buffer.from(bytes);
    doctored[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(join(cap, 'stream.bin'), doctored);
    await t.throwsAsync(read(cap, true), { message: /sha256/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile: randomly damaged copies read with runs end as a record-by-record read does', async (t) => {
  const dir = scratch('mw-cursor-rand-');
  try {
    const bytes = readFileSync(loneStream('10.0-precopy-file', dir)).subarray(0, 3 << 20);
    let failed = 0;
    let n = 0;
    for (const copy of damagedCopies(bytes, 777, 40)) {
      const f = join(dir, `d${n}.bin`);
      writeFileSync(f, copy);
      const want = await read(f, false);
      if (want.error) failed++;
      const got = await read(f, true);
      if (got.error !== want.error || got.bytes !== want.bytes || got.lines.join('\n') !== want.lines.join('\n')) {
        t.fail(`case ${n}: ${got.error} / ${want.error}; ${got.lines.length} / ${want.lines.length} lines`);
        return;
      }
      rmSync(f);
      n++;
    }
    t.true(failed > 5, `${failed} copies failed to decode`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
