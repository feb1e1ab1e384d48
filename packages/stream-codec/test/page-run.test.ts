/**
 * Page runs (PageRunScanner, findPageRunStart, MainStreamDecoder.passPageRun): a decode that takes
 * runs found ahead gives the same records, counts, blocks and errors as one that decodes every
 * page, from any point the scan starts at, with runs cut anywhere, and on damaged streams.
 */
import test from 'ava';
import {
  CodecError,
  encodeMainStream,
  findPageRunStart,
  forEachRunPage,
  MainStreamDecoder,
  PageRunScanner,
  type MainRecord,
  type MainRecordInput,
  type PageRun,
  type PassedPageRun,
} from '../src/index.js';
import { rng } from './feed.js';

const RAM = 3;
const PAGE_KINDS = new Set(['ram-page', 'ram-zero']);

/** A stream with RAM parts of named and CONTINUE pages and zero pages in two blocks, then device state. */
function stream(parts = 4, pagesPerPart = 40): Uint8Array {
  const r = rng(7);
  const recs: MainRecordInput[] = [
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'section', sectionType: 'start', sectionId: RAM, idstr: 'ram', instanceId: 0, versionId: 4 },
    { kind: 'ram-mem-size', sectionId: RAM, flags: 0x04, totalBytes: 0x400000 + 0x20000 },
    { kind: 'ram-block', sectionId: RAM, block: { name: 'pc.ram', usedLength: 0x400000 } },
    { kind: 'ram-block', sectionId: RAM, block: { name: 'pc.bios', usedLength: 0x20000 } },
    { kind: 'ram-eos', sectionId: RAM, flags: 0x10 },
    { kind: 'footer', sectionId: RAM },
  ];
  for (let k = 0; k < parts; k++) {
    recs.push({ kind: 'section', sectionType: 'part', sectionId: RAM, idstr: 'ram' });
    for (let i = 0; i < pagesPerPart; i++) {
      const block = i % 17 < 14 ? 'pc.ram' : 'pc.bios';
      // Each part names its first block; a block switch names the new one; the rest CONTINUE.
      const named = i === 0 || (i % 17 === 0 || i % 17 === 14);
      const at = ((k * pagesPerPart + i) * 4096) % (block === 'pc.ram' ? 0x400000 : 0x20000);
      if (r() < 0.2) recs.push({ kind: 'ram-zero', sectionId: RAM, flags: named ? 0x02 : 0x22, block, pageOffset: at, fill: 0 });
      else recs.push({ kind: 'ram-page', sectionId: RAM, flags: named ? 0x08 : 0x28, block, pageOffset: at, data: new Uint8Array(4096).fill(k + i) });
    }
    recs.push({ kind: 'ram-eos', sectionId: RAM, flags: 0x10 }, { kind: 'footer', sectionId: RAM });
  }
  recs.push(
    { kind: 'section', sectionType: 'full', sectionId: 5, idstr: 'timer', instanceId: 0, versionId: 2 },
    { kind: 'device-state', sectionId: 5, idstr: 'timer', data: Uint8Array.of(1, 2, 3) },
    { kind: 'footer', sectionId: 5 },
    { kind: 'eof' },
  );
  return encodeMainStream(recs);
}

/** What a worker would find from `from` on, reading `read` bytes at a time, runs cut after `cut` bytes. */
function scanRuns(bytes: Uint8Array, from: number, read: number, cut: number): PageRun[] {
  const runs: PageRun[] = [];
  const scanner = new PageRunScanner();
  let seeking = true;
  let at = from;
  for (let end = Math.min(bytes.length, from + read); ; end = Math.min(bytes.length, end + read)) {
    const eof = end === bytes.length;
    for (;;) {
      if (seeking) {
        const f = findPageRunStart(bytes, at, end);
        at = f.at;
        if (!f.sure) break;
        seeking = false;
        scanner.forget();
      }
      const r = scanner.scan(bytes.subarray(0, end), at, end, 0);
      const took = r.at > at;
      at = r.at;
      if (r.stop === 'other') {
        const run = scanner.take();
        if (run) runs.push(run);
        scanner.forget();
        seeking = true;
        if (!took) at++;
        continue;
      }
      if (scanner.runBytes >= cut) runs.push(scanner.take()!);
      break;
    }
    if (eof) {
      const run = scanner.take();
      if (run) runs.push(run);
      return runs;
    }
  }
}

interface Outcome {
  /** Non-page records, in order, as kind@offset+length. */
  others: string[];
  pages: number;
  zeros: number;
  pageBytes: number;
  /** block -> "pages/zeros min..max" */
  blocks: Map<string, { pages: number; zeros: number; min: number; max: number }>;
  error: string | undefined;
  lastOffset: number;
  taken: number;
}

function blockOf(o: Outcome, name: string): { pages: number; zeros: number; min: number; max: number } {
  let b = o.blocks.get(name);
  if (!b) o.blocks.set(name, (b = { pages: 0, zeros: 0, min: Infinity, max: -1 }));
  return b;
}

/** Decode in `chunk`-byte reads, taking every run the decoder accepts when it stands at its start. */
function decodeWith(bytes: Uint8Array, runs: PageRun[], chunk: number): Outcome {
  const o: Outcome = { others: [], pages: 0, zeros: 0, pageBytes: 0, blocks: new Map(), error: undefined, lastOffset: -1, taken: 0 };
  const dec = new MainStreamDecoder({ skipPagePayloads: true });
  const sink = (r: MainRecord): void => {
    o.lastOffset = r.offset;
    if (r.kind === 'ram-page' || r.kind === 'ram-zero') {
      const b = blockOf(o, r.block);
      if (r.kind === 'ram-page') (o.pages++, b.pages++, (o.pageBytes += r.length));
      else (o.zeros++, b.zeros++);
      b.min = Math.min(b.min, r.pageOffset);
      b.max = Math.max(b.max, r.pageOffset);
    } else o.others.push(`${r.kind}@${r.offset}+${r.length}`);
  };
  const take = (run: PassedPageRun): void => {
    o.taken++;
    o.lastOffset = run.last.offset;
    for (const b of run.blocks) {
      const t = blockOf(o, b.block);
      o.pages += b.pages;
      o.zeros += b.zeros;
      o.pageBytes += b.pageBytes;
      t.pages += b.pages;
      t.zeros += b.zeros;
      t.min = Math.min(t.min, b.minOffset);
      t.max = Math.max(t.max, b.maxOffset);
    }
  };
  try {
    let pos = 0;
    let k = 0;
    while (pos < bytes.length) {
      while (k < runs.length && runs[k]!.start < pos) k++;
      const run = runs[k];
      if (run && run.start === pos && dec.pending === 0) {
        const passed = dec.passPageRun(run);
        k++;
        if (passed) {
          take(passed);
          pos = run.end;
          continue;
        }
      }
      const next = runs[k];
      const limit = Math.min(bytes.length, pos + chunk, next && next.start > pos ? next.start : Infinity);
      dec.write(bytes.subarray(pos, limit), sink);
      pos = limit;
    }
    dec.end(sink);
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    o.error = `${e.code}@${e.offset}`;
  }
  return o;
}

function same(t: import('ava').ExecutionContext, got: Outcome, want: Outcome, what: string): boolean {
  const strip = (o: Outcome) => ({ ...o, taken: 0, blocks: [...o.blocks].sort() });
  const a = strip(got);
  const b = strip(want);
  if (JSON.stringify(a) === JSON.stringify(b)) return true;
  t.deepEqual(a, b, what);
  return false;
}

test('from every start point, with runs cut anywhere, a decode that takes runs gives what a page-by-page decode gives', (t) => {
  const bytes = stream();
  const want = decodeWith(bytes, [], 4096);
  t.is(want.error, undefined);
  t.true(want.pages > 100 && want.zeros > 10);
  let taken = 0;
  for (let from = 0; from < bytes.length; from += 997) {
    for (const [read, cut] of [
      [64 * 1024, 4 << 20],
      [5000, 9000],
      [bytes.length, 1],
    ] as const) {
      const runs = scanRuns(bytes, from, read, cut);
      for (const chunk of [4096, 1 << 20]) {
        const got = decodeWith(bytes, runs, chunk);
        if (!same(t, got, want, `from ${from}, read ${read}, cut ${cut}, chunk ${chunk}`)) return;
        taken += got.taken;
      }
    }
  }
  t.true(taken > 500, `${taken} runs taken`);
});

test('a run starting where the decoder is not between records, or naming blocks it does not hold, is refused and changes nothing', (t) => {
  const bytes = stream(2, 20);
  const runs = scanRuns(bytes, 0, bytes.length, 1 << 20);
  const first = runs[0]!;
  const dec = new MainStreamDecoder({ skipPagePayloads: true });
  dec.write(bytes.subarray(0, first.start - 1), () => {});
  t.is(dec.passPageRun(first), undefined, 'not at the start');
  dec.write(bytes.subarray(first.start - 1, first.start + 3), () => {});
  t.is(dec.passPageRun({ ...first, start: first.start + 3 }), undefined, 'bytes queued');
  const fresh = (): MainStreamDecoder => {
    const d = new MainStreamDecoder({ skipPagePayloads: true });
    d.write(bytes.subarray(0, first.start), () => {});
    return d;
  };
  t.is(fresh().passPageRun({ ...first, pageSize: 8192 }), undefined, 'another page size');
  t.is(fresh().passPageRun({ ...first, blocks: [{ ...first.blocks[0]!, block: 'nvram' }] }), undefined, 'a block MEM_SIZE did not list');
  t.is(fresh().passPageRun({ ...first, blocks: [{ ...first.blocks[0]!, maxOffset: 0x400000 }] }), undefined, 'an offset beyond its block');
  const payloads = new MainStreamDecoder();
  payloads.write(bytes.subarray(0, first.start), () => {});
  t.is(payloads.passPageRun(first), undefined, 'page payloads wanted');
  const ok = fresh();
  const passed = ok.passPageRun(first);
  t.truthy(passed);
  t.is(ok.offset, first.end);
  t.is(passed!.blocks[0]!.block, 'pc.ram');
  // The decoder goes on from the run's end as if it had decoded it.
  const rest: MainRecord[] = [];
  ok.write(bytes.subarray(first.end), (r) => rest.push(r));
  ok.end((r) => rest.push(r));
  t.is(rest.at(-1)!.kind, 'eof');
});

test('damaged streams: a decode that takes runs stops at the same error, or gives the same records, as one that does not', (t) => {
  const base = stream(3, 30);
  const r = rng(99);
  let differentOutcomes = 0;
  for (let n = 0; n < 300; n++) {
    const bytes = base.slice();
    // Headers are where a run could go wrong: hit bytes near record starts more often than payloads.
    const hits = 1 + Math.floor(r() * 3);
    for (let h = 0; h < hits; h++) {
      const at = r() < 0.7 ? 0x70 + Math.floor(r() * 90) * 4104 + Math.floor(r() * 12) : Math.floor(r() * bytes.length);
      if (at < bytes.length) bytes[at] = Math.floor(r() * 256);
    }
    const cutAt = r() < 0.2 ? Math.floor(r() * bytes.length) : bytes.length;
    const damaged = bytes.subarray(0, cutAt);
    const want = decodeWith(damaged, [], 4096);
    if (want.error) differentOutcomes++;
    const runs = scanRuns(damaged, Math.floor(r() * damaged.length), 8192 + Math.floor(r() * 70000), 1 + Math.floor(r() * 50000));
    const got = decodeWith(damaged, runs, 1 + Math.floor(r() * 20000));
    if (!same(t, got, want, `case ${n}`)) return;
  }
  t.true(differentOutcomes > 50, `${differentOutcomes} damaged streams failed to decode`);
});

test('the scanner takes PAGE and ZERO records only, and says when it needs more bytes', (t) => {
  const bytes = stream(1, 10);
  const runs = scanRuns(bytes, 0, bytes.length, 1 << 30);
  t.is(runs.length, 1);
  t.is(runs[0]!.records, 10);
  const s = new PageRunScanner();
  const mid = runs[0]!.start + 4104 + 100;
  const first = s.scan(bytes.subarray(0, mid), runs[0]!.start, mid, 0);
  t.is(first.stop, 'more');
  const rest = s.scan(bytes, first.at, bytes.length, 0);
  t.is(rest.stop, 'other');
  t.is(s.take()!.records, 10);
  // Random bytes hold no run a chain check accepts.
  const g = rng(3);
  const noise = Uint8Array.from({ length: 1 << 16 }, () => Math.floor(g() * 256));
  t.false(findPageRunStart(noise, 0, noise.length).sure);
});

test('forEachRunPage gives a run\'s pages as the decoder gives its page records, and refuses bytes that are no run', (t) => {
  const bytes = stream(3, 40);
  const want: string[] = [];
  new MainStreamDecoder().write(bytes, (r) => {
    if (r.kind === 'ram-page') want.push(`${r.block}+${r.pageOffset}:${r.data[0]}:${r.data.length}`);
    else if (r.kind === 'ram-zero') want.push(`${r.block}+${r.pageOffset}:zero ${r.fill}`);
  });
  const got: string[] = [];
  for (const run of scanRuns(bytes, 0, bytes.length, 1 << 30)) {
    forEachRunPage(bytes.subarray(run.start, run.end), run.pageSize, 'carried', (block, offset, data, fill) => got.push(data ? `${block}+${offset}:${data[0]}:${data.length}` : `${block}+${offset}:zero ${fill}`));
  }
  t.deepEqual(got, want);
  // Cut inside a page, or a record that is no page: a caller's mistake, said at once.
  const run = scanRuns(bytes, 0, bytes.length, 1 << 30)[0]!;
  t.throws(() => forEachRunPage(bytes.subarray(run.start, run.start + 5000), run.pageSize, 'x', () => {}), { instanceOf: RangeError });
  t.throws(() => forEachRunPage(bytes.subarray(0, 64), run.pageSize, 'x', () => {}), { instanceOf: RangeError });
});
