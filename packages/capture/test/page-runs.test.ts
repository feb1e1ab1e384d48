/**
 * decodeCapture with onPageRun: a worker thread finds runs of pages in the second half of a main
 * stream file and the decode takes them whole. On real QEMU streams, and on damaged and cut copies
 * of one, it must come to exactly what a page-by-page decode does: records, bytes, blocks, the
 * last record, the error. A worker that stops early only makes the decode do it all itself.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { MainStreamDecoder, forEachRunRecord, type CodecRecord } from '@migwire/stream-codec';
import { decodeCapture, openCapture } from '../src/index.js';
import { PageRunsAhead } from '../src/decode/page-runs/ahead.js';
import { mainFileWithRuns } from '../src/decode/page-runs/reader.js';
import { damagedCopies, filesOpenIn, loneStream, scratch } from './paths.js';

interface Tally {
  records: number;
  bytes: number;
  others: string[];
  blocks: Record<string, [number, number, number, number]>;
  last: string;
  error: string | undefined;
  runs: number;
}

const block = (t: Tally, name: string): [number, number, number, number] => (t.blocks[name] ??= [0, 0, Infinity, -1]);

/** runs: false, page by page; 'reader', runs the reader scans itself; true, those and a worker's; N, N workers'. */
async function tally(path: string, runs: boolean | 'reader' | number): Promise<Tally> {
  const t: Tally = { records: 0, bytes: 0, others: [], blocks: {}, last: '', error: undefined, runs: 0 };
  const [res] = await decodeCapture(await openCapture(path), {
    skipPagePayloads: true,
    transientViews: true,
    ...(runs ? { pageRunsMinBytes: runs === 'reader' ? Infinity : 0 } : {}),
    ...(typeof runs === 'number' ? { pageRunWorkers: runs } : {}),
    onRecord: (_ch, r: CodecRecord) => {
      if (r.kind === 'ram-page' || r.kind === 'ram-zero') {
        const b = block(t, r.block);
        b[r.kind === 'ram-page' ? 0 : 1]++;
        b[2] = Math.min(b[2], r.pageOffset);
        b[3] = Math.max(b[3], r.pageOffset);
      } else t.others.push(`${r.kind}@${r.offset}+${r.length}`);
    },
    ...(runs
      ? {
          onPageRun: (_ch, run) => {
            t.runs++;
            for (const r of run.blocks) {
              const b = block(t, r.block);
              b[0] += r.pages;
              b[1] += r.zeros;
              b[2] = Math.min(b[2], r.minOffset);
              b[3] = Math.max(b[3], r.maxOffset);
            }
          },
        }
      : {}),
  });
  t.records = res!.records;
  t.bytes = res!.bytes;
  t.error = res!.error && `${res!.error.code}@${res!.error.offset}: ${res!.error.message}`;
  return t;
}

async function compare(t: import('ava').ExecutionContext, path: string, expectRuns: boolean): Promise<void> {
  const want = await tally(path, false);
  for (const mode of ['reader', true, 3] as const) {
    const got = await tally(path, mode);
    if (expectRuns) t.true(got.runs > 0, `runs were taken (${mode})`);
    t.deepEqual({ ...got, runs: 0, others: got.others.length }, { ...want, runs: 0, others: want.others.length }, String(mode));
    t.deepEqual(got.others, want.others, String(mode));
  }
}

for (const name of ['10.0-precopy-file', '7.2-precopy-exec', '10.0-xbzrle-exec', '10.0-legacy-zero-file']) {
  test(`${name}: taking page runs found ahead gives what a page-by-page decode gives`, async (t) => {
    const dir = scratch('mw-runs-');
    try {
      await compare(t, loneStream(name, dir), name !== '10.0-xbzrle-exec');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('damaged in the worker\'s half (a page header, a cut mid-page): the same error at the same byte', async (t) => {
  const dir = scratch('mw-runs-bad-');
  try {
    const path = loneStream('10.0-precopy-file', dir);
    const bytes = readFileSync(path);
    // A page header three quarters in: find one by decoding (the decoder says where records are).
    const pages: number[] = [];
    const d = new MainStreamDecoder({ skipPagePayloads: true });
    d.write(bytes, (r) => {
      if (r.kind === 'ram-page' && r.offset > bytes.length * 0.75 && pages.length < 3) pages.push(r.offset);
    });
    t.true(pages.length === 3);
    const flags = Buffer.from(bytes);
    flags[pages[0]! + 7] = 0x09; // PAGE|FULL: flags no QEMU sends
    writeFileSync(join(dir, 'flags.bin'), flags);
    const range = Buffer.from(bytes);
    range[pages[1]! + 2] = 0x7f; // an offset far beyond pc.ram
    writeFileSync(join(dir, 'range.bin'), range);
    writeFileSync(join(dir, 'cut.bin'), bytes.subarray(0, pages[2]! + 2000));
    writeFileSync(join(dir, 'cut-at-record.bin'), bytes.subarray(0, pages[2]!));
    for (const f of ['flags.bin', 'range.bin', 'cut.bin', 'cut-at-record.bin']) {
      const want = await tally(join(dir, f), false);
      t.truthy(want.error, f);
      // The bytes that decoded before the error, however far reading had gone (a sweep found the
      // count differed between page by page and with workers).
      t.is(want.bytes, Number(/@(\d+)/.exec(want.error!)![1]), `${f}: bytes up to the error`);
      for (const mode of ['reader', true, 4] as const) {
        const got = await tally(join(dir, f), mode);
        t.is(got.error, want.error, `${f} ${mode}`);
        t.is(got.bytes, want.bytes, `${f} ${mode}`);
        t.is(got.records, want.records, `${f} ${mode}`);
        t.deepEqual(got.blocks, want.blocks, `${f} ${mode}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker that stops before reporting anything leaves the reader to find every run itself', async (t) => {
  const dir = scratch('mw-runs-stop-');
  try {
    const path = loneStream('10.0-precopy-file', dir);
    const size = readFileSync(path).length;
    const ahead = PageRunsAhead.start(path, size, 4096, 0)!;
    t.truthy(ahead);
    ahead.stop();
    const dec = new MainStreamDecoder({ skipPagePayloads: true });
    let records = 0;
    let bytes = 0;
    for await (const c of mainFileWithRuns(path, dec, ahead)) {
      if (c instanceof Uint8Array) {
        bytes += c.length;
        dec.write(c, () => records++);
      } else {
        bytes += c.end - c.start;
        records += c.records;
      }
    }
    dec.end(() => records++);
    t.is(bytes, size);
    const want = await tally(path, false);
    t.is(records, want.records);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('waiting for the worker keeps the process alive: a reader with nothing else to wait for still gets its report', (t) => {
  const dir = scratch('mw-runs-alive-');
  try {
    const path = loneStream('10.0-precopy-file', dir);
    // A process whose only pending work is that wait: without the worker held meanwhile, Node would leave mid-await.
    const ahead = pathToFileURL(join(fileURLToPath(new URL('.', import.meta.url)), '..', 'src', 'decode', 'page-runs', 'ahead.js')).href;
    const script = `import { PageRunsAhead } from ${JSON.stringify(ahead)};
      const a = PageRunsAhead.start(${JSON.stringify(path)}, ${readFileSync(path).length}, 4096, 0);
      let reports = 0;
      while (await a.next()) reports++;
      process.stdout.write('reports ' + reports);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    t.regex(r.stdout, /^reports [1-9]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile: randomly damaged copies read with runs (the reader\'s own and the worker\'s) end as a page-by-page read does', async (t) => {
  const dir = scratch('mw-runs-rand-');
  try {
    const bytes = readFileSync(loneStream('10.0-precopy-file', dir)).subarray(0, 3 << 20);
    let failed = 0;
    let n = 0;
    for (const copy of damagedCopies(bytes, 12345, 60)) {
      const f = join(dir, `d${n}.bin`);
      writeFileSync(f, copy);
      const want = await tally(f, false);
      if (want.error && !want.error.includes('incomplete stream')) failed++;
      for (const mode of n % 4 === 0 ? (['reader', true, 3] as const) : (['reader'] as const)) {
        const got = await tally(f, mode);
        if (got.error !== want.error || got.records !== want.records || JSON.stringify(got.blocks) !== JSON.stringify(want.blocks) || got.others.join() !== want.others.join()) {
          t.fail(`case ${n} (${mode}): ${got.error} / ${want.error}; ${got.records} / ${want.records} records`);
          return;
        }
      }
      rmSync(f);
      n++;
    }
    t.true(failed > 10, `${failed} copies failed to decode`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a decode with runs leaves no file open behind it, the worker\'s included, even when the reader ends first', async (t) => {
  const dir = scratch('mw-runs-fds-');
  try {
    const path = loneStream('10.0-precopy-file', dir);
    // Cut before its end: the reader stops at the truncation while the worker may still be reading.
    const cut = join(dir, 'cut.bin');
    writeFileSync(cut, readFileSync(path).subarray(0, 9_000_000));
    for (const f of [path, cut]) await tally(f, true);
    for (let i = 0; i < 100 && filesOpenIn(dir).length; i++) await new Promise((r) => setTimeout(r, 20));
    t.deepEqual(filesOpenIn(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A record as JSON, its bytes as hex (a Buffer view and a Uint8Array view of the same bytes alike). */
const recordText = (r: CodecRecord): string => JSON.stringify(r, function (this: Record<string, unknown>, k: string, v: unknown) {
  const raw = this[k];
  return ArrayBuffer.isView(raw) ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex') : v;
});

/** Every record as JSON, in order: page by page, or runs taken with their detail (forEachRunRecord). */
async function everyRecord(path: string, runs: false | 'reader' | number): Promise<string[]> {
  const out: string[] = [];
  const [res] = await decodeCapture(await openCapture(path), {
    skipPagePayloads: true,
    transientViews: true,
    ...(runs ? { pageRunDetail: true, pageRunsMinBytes: runs === 'reader' ? Infinity : 0, onPageRun: (_ch, run) => void withDetail(forEachRunRecord(run, (r) => out.push(recordText(r)))) } : {}),
    ...(typeof runs === 'number' ? { pageRunWorkers: runs } : {}),
    onRecord: (_ch, r: CodecRecord) => void out.push(recordText(r)),
  });
  out.push(`end ${res!.records} ${res!.bytes} ${res!.error?.code}@${res!.error?.offset}`);
  return out;
}

function withDetail(v: boolean): void {
  if (!v) throw new Error('a run came without its detail');
}

test('runs taken with their detail give every record a page-by-page decode gives, the same in every field and order', async (t) => {
  const dir = scratch('mw-runs-detail-');
  try {
    for (const name of ['10.0-precopy-file', '7.2-precopy-exec', '10.0-legacy-zero-file']) {
      const path = loneStream(name, dir);
      const bytes = readFileSync(path);
      const cut = join(dir, `${name}-cut.bin`);
      writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.8)));
      for (const f of [path, cut]) {
        const want = await everyRecord(f, false);
        for (const mode of ['reader', 1, 3] as const) {
          const got = await everyRecord(f, mode);
          t.is(got.length, want.length, `${name} ${f === cut ? 'cut' : 'whole'} ${mode}`);
          t.true(got.every((l, i) => l === want[i]), `${name} ${f === cut ? 'cut' : 'whole'} ${mode}`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
