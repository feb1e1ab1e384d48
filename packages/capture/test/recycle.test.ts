/**
 * With `transientViews`, a plain channel file is read into a recycled ring of buffers, multifd
 * channels included: a buffer is reused once the decoder holds nothing unconsumed in it. Real
 * multifd captures (none, zlib, zstd: fzstd keeps views of input it has not finished) must give
 * the same records and page contents as fresh buffers do.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MultifdPageDecoder, type CodecRecord } from '@migwire/stream-codec';
import { decodeCapture, openCapture } from '../src/index.js';
import { FIXTURES, scratch } from './paths.js';

/** The fixture with its channel files unpacked (the recycled reader only reads plain files). */
function plainCopy(name: string): string {
  const dir = join(scratch('mw-recycle-'), name);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.bin.gz'))) {
    writeFileSync(join(dir, f.slice(0, -3)), gunzipSync(readFileSync(join(dir, f))));
    rmSync(join(dir, f));
  }
  return dir;
}

/** One line per record, with a digest of every page a multifd packet carries (taken during the call). */
async function fingerprint(dir: string, transientViews: boolean): Promise<string[]> {
  const lines: string[] = [];
  const pages = new Map<string, MultifdPageDecoder>();
  await decodeCapture(await openCapture(dir), {
    transientViews,
    onRecord: (ch, r: CodecRecord) => {
      let extra = '';
      if (r.kind === 'multifd-packet' && r.normalPages > 0) {
        let pd = pages.get(ch.name);
        if (!pd) pages.set(ch.name, (pd = new MultifdPageDecoder(4096, ch.name)));
        const h = createHash('sha256');
        for (const p of pd.pages(r)) h.update(p.data);
        extra = h.digest('hex');
      }
      lines.push(`${ch.name} ${r.kind} ${r.offset} ${r.length} ${extra}`);
    },
  });
  return lines;
}

for (const name of ['10.0-multifd4-none', '10.0-multifd4-zlib', '10.0-c-multifd4-zstd']) {
  test(`${name}: recycled read buffers give the same records and pages as fresh ones`, async (t) => {
    const dir = plainCopy(name);
    try {
      const fresh = await fingerprint(dir, false);
      const recycled = await fingerprint(dir, true);
      t.true(fresh.filter((l) => l.includes('multifd-packet') && l.length > 100).length > 10, 'pages were compared');
      t.deepEqual(recycled, fresh);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
