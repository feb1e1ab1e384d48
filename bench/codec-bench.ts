/**
 * Codec figures: main-stream and multifd decoding, transcode, and extract of a multifd capture,
 * each against a plain read (or decode alone) of the same bytes in the same run.
 */
import { createReadStream, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MainStreamDecoder, MultifdDecoder, MultifdPageDecoder, decodeMultifdChannel, type MultifdRamPacketRecord } from '@migwire/stream-codec';
import { runExtract, runTranscode } from 'migwire';
import { CHUNK, MiB, PAGE, measure, record } from './figures.js';
import { ROOT, WORK } from './paths.js';
import { makeMainStream, makeMultifdCapture } from './synthetic.js';

export async function plainRead(path: string): Promise<number> {
  let n = 0;
  for await (const c of createReadStream(path, { highWaterMark: CHUNK })) n += (c as Buffer).length;
  return n;
}

async function decodeMainFile(path: string, sizeMiB: number): Promise<number> {
  const dec = new MainStreamDecoder();
  let n = 0;
  let pages = 0;
  const sink = (r: { kind: string }): void => {
    if (r.kind === 'ram-page') pages++;
  };
  for await (const c of createReadStream(path, { highWaterMark: CHUNK })) {
    n += (c as Buffer).length;
    dec.write(c as Buffer, sink);
  }
  dec.end(sink);
  if (pages !== (sizeMiB * MiB) / PAGE) throw new Error(`decoded ${pages} pages`);
  return n;
}

export async function decodeMultifdFile(path: string): Promise<number> {
  const dec = new MultifdDecoder();
  const pages = new MultifdPageDecoder();
  let n = 0;
  const sink = (r: { kind: string }): void => {
    if (r.kind === 'multifd-packet') pages.pages(r as MultifdRamPacketRecord);
  };
  for await (const c of createReadStream(path, { highWaterMark: CHUNK })) {
    n += (c as Buffer).length;
    dec.write(c as Buffer, sink);
  }
  dec.end(sink);
  return n;
}

/** The codec figures selected by `want`. */
export async function benchCodec(sizeMiB: number, want: (name: string) => boolean): Promise<void> {
  if (want('main')) {
    const path = join(WORK, `main-${sizeMiB}.bin`);
    if (!existsSync(path)) await makeMainStream(path, sizeMiB);
    await plainRead(path); // warm the page cache
    const base = await measure(() => plainRead(path));
    record('plain read (main stream file)', base);
    const r = await measure(() => decodeMainFile(path, sizeMiB));
    record('main-stream decode (PAGE records)', r, base);
  }

  if (want('transcode')) {
    // The same stream re-emitted by `migwire transcode` into sinks that discard: decode, route,
    // batch, encode (and for multifd, build packets) against decode alone, in the same run.
    const path = join(WORK, `main-${sizeMiB}.bin`);
    if (!existsSync(path)) await makeMainStream(path, sizeMiB);
    await plainRead(path);
    const size = statSync(path).size;
    await decodeMainFile(path, sizeMiB); // warm the decoder's code paths, as transcode's run will be
    const decode = await measure(() => decodeMainFile(path, sizeMiB));
    record('main-stream decode (transcode baseline)', decode);
    const runs = [
      { channels: 4, compression: 'none' as const, name: 'transcode main -> main + 4 multifd (none), discarded' },
      { channels: 0, compression: 'none' as const, name: 'transcode main -> main (re-encoded), discarded' },
      { channels: 4, compression: 'zstd' as const, name: 'transcode main -> main + 4 multifd (zstd), discarded' },
      { channels: 4, compression: 'zlib' as const, name: 'transcode main -> main + 4 multifd (zlib), discarded' },
    ];
    for (const { channels, compression, name } of runs) {
      const r = await measure(async () => {
        const rep = await runTranscode(path, { target: undefined, channels, compression });
        const moved = channels ? rep.counts.multifd.reduce((n, m) => n + m.normalPages, 0) : rep.counts.main.pages;
        if (moved !== (sizeMiB * MiB) / PAGE) throw new Error(`transcode moved ${moved} pages`);
        return size;
      });
      record(name, r, decode, undefined, 'decode only');
    }
  }

  for (const compression of ['none', 'zlib'] as const) {
    const name = `multifd-${compression}`;
    if (!want(name)) continue;
    const dir = join(WORK, `${name}-${sizeMiB}`);
    if (!existsSync(join(dir, 'conn04.src2dst.bin'))) await makeMultifdCapture(dir, compression, sizeMiB);
    const files = [1, 2, 3, 4].map((c) => join(dir, `conn0${c}.src2dst.bin`));
    for (const f of files) await plainRead(f);
    const base = await measure(async () => {
      let n = 0;
      for (const f of files) n += await plainRead(f);
      return n;
    });
    record(`plain read (4 multifd channels, ${compression})`, base);
    const r = await measure(async () => {
      let n = 0;
      for (const f of files) n += await decodeMultifdFile(f);
      return compression === 'none' ? n : sizeMiB * MiB;
    });
    // Compressed channels are tiny for synthetic pages: the figure that matters is page data out.
    if (compression === 'none') record('multifd decode + pages (none)', r, base);
    else record('multifd decode + pages (zlib), page data out', r, undefined, `${(base.bytes / MiB).toFixed(1)} MiB of zlib stream in`);
    if (compression === 'none' && want('extract')) {
      const out = join(WORK, 'extract-out');
      rmSync(out, { recursive: true, force: true });
      const e = await measure(async () => {
        const rep = await runExtract(dir, { outDir: out, blocks: [], quiet: true });
        if (rep.errors.length) throw new Error(rep.errors.join('; '));
        return files.reduce((n, f) => n + statSync(f).size, statSync(join(dir, 'conn00.src2dst.bin')).size);
      });
      record('extract (main + 4 multifd, none) to image', e, base, 'writes a 1:1 image file');
      rmSync(out, { recursive: true, force: true });
    }
  }

  if (want('multifd-zstd')) {
    // Real QEMU zstd payloads: the real capture's four channels (gzipped in fixtures/), decoded over and over.
    const capDir = join(ROOT, 'fixtures', '10.0-c-multifd4-zstd');
    if (existsSync(capDir)) {
      const chans = [1, 2, 3, 4].map((c) => gunzipSync(readFileSync(join(capDir, `conn0${c}.src2dst.bin.gz`))));
      const passBytes = chans.reduce((n, b) => n + b.length, 0);
      const passPages = chans.reduce((n, b) => n + decodeMultifdChannel(b).records.reduce((k, r) => k + (r.kind === 'multifd-packet' ? r.normalPages : 0), 0), 0) * PAGE;
      const passes = Math.max(1, Math.ceil((sizeMiB * MiB) / passPages));
      const base = await measure(async () => {
        let n = 0;
        for (let p = 0; p < passes; p++) for (const b of chans) n += Buffer.from(b).length;
        return n;
      });
      const r = await measure(async () => {
        let n = 0;
        for (let p = 0; p < passes; p++) {
          for (const b of chans) {
            const dec = new MultifdDecoder();
            const pages = new MultifdPageDecoder();
            dec.write(b, (x) => {
              if (x.kind === 'multifd-packet') pages.pages(x);
            });
            dec.end(() => {});
            n += b.length;
          }
        }
        return n;
      });
      record('multifd decode + pages (zstd, real QEMU data), page data out', { ...r, bytes: passes * passPages }, undefined, `real QEMU 10.0 zstd channels replayed ${passes} times, ${(passBytes / MiB).toFixed(1)} MiB of zstd stream per pass`);
      void base;
    }
  }
}
