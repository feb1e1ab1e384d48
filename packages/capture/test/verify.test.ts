/**
 * openCapture checks channel files against index.json (issue 13, item 12): a size that differs
 * is reported when the capture is opened, a sha256 that differs when the file has been read;
 * both as CaptureErrors naming the file. verify: false opens it anyway.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CaptureError, decodeCapture, HASH_ASIDE_MIN_BYTES, openCapture, sha256OfFile, TCP_PROXY_FORMAT } from '../src/index.js';

const QEVM = Buffer.from('QEVM\0\0\0\x03', 'latin1');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function capture(recorded: Buffer, onDisk: Buffer, gz = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'mw-verify-'));
  writeFileSync(join(dir, `conn00.src2dst.bin${gz ? '.gz' : ''}`), gz ? gzipSync(onDisk) : onDisk);
  writeFileSync(join(dir, 'conn00.dst2src.bin'), Buffer.alloc(0));
  const dirn = (file: string, b: Buffer): object => ({ file, bytes_received: b.length, bytes_written: b.length, bytes_sent: b.length, file_size: b.length, sha256: sha(b) });
  const index = { format: TCP_PROXY_FORMAT, connections: [{ id: 0, directions: { src2dst: dirn('conn00.src2dst.bin', recorded), dst2src: dirn('conn00.dst2src.bin', Buffer.alloc(0)) } }] };
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  return dir;
}

async function readAll(dir: string, verify = true): Promise<number> {
  let n = 0;
  for (const ch of (await openCapture(dir, { verify })).channels) for await (const c of ch.open()) n += c.length;
  return n;
}

test('a file whose size differs from index.json is a CaptureError when the capture is opened', async (t) => {
  const data = Buffer.concat([QEVM, Buffer.alloc(10_000, 1)]);
  const dir = capture(data, data.subarray(0, 5000));
  await t.throwsAsync(openCapture(dir), { name: 'CaptureError', message: /conn00\.src2dst\.bin: holds 5000 bytes, index\.json says 10008/ });
  await t.notThrowsAsync(openCapture(dir, { verify: false }));
});

test('a file whose bytes differ (same size) fails its sha256 once read, plain or gzipped', async (t) => {
  const data = Buffer.concat([QEVM, Buffer.alloc(300_000, 1)]);
  const doctored = Buffer.from(data);
  doctored[200_000] = 7;
  for (const gz of [false, true]) {
    const dir = capture(data, doctored, gz);
    await t.throwsAsync(readAll(dir), { name: 'CaptureError', message: /conn00\.src2dst\.bin(\.gz)?: sha256 [0-9a-f]{64} differs from index\.json's/ });
    t.is(await readAll(dir, false), data.length);
  }
  t.is(await readAll(capture(data, data)), data.length, 'an intact capture reads as before');
});

test('sha256OfFile: length and sha256 of small and large files (a worker from 16 MiB); a missing file is a CaptureError naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-sha-'));
  for (const n of [0, 5, (1 << 20) + 3, HASH_ASIDE_MIN_BYTES + 4097]) {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4093) b[i] = i & 0xff;
    const p = join(dir, `f${n}`);
    writeFileSync(p, b);
    t.deepEqual(await sha256OfFile(p), { bytes: n, sha256: sha(b) }, `${n} bytes`);
  }
  const e = await t.throwsAsync(sha256OfFile(join(dir, 'gone')), { instanceOf: CaptureError });
  t.regex(e!.message, /gone: cannot hash it/);
});

test('a channel that is not decoded (TLS bytes) is still read against index.json: a doctored file fails decodeCapture', async (t) => {
  const tls = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10]), Buffer.alloc(200_000, 3)]);
  const doctored = Buffer.from(tls);
  doctored[150_000] = 9;
  const records = (dir: string) => openCapture(dir).then((c) => decodeCapture(c, { onRecord: () => undefined }));
  await t.throwsAsync(records(capture(tls, doctored)), { name: 'CaptureError', message: /conn00\.src2dst\.bin: sha256 [0-9a-f]{64} differs from index\.json's/ });
  const results = await records(capture(tls, tls));
  const src = results.find((r) => r.channel.direction === 'src2dst')!;
  t.truthy(src.skipped, 'an intact TLS channel is still reported as not decoded');
  t.is(src.bytes, tls.length, 'and every byte of it was read for the check');
});

test('a connNN file index.json does not list is a CaptureError UNLISTED_FILE (nothing vouches for it); verify: false opens it', async (t) => {
  const data = Buffer.concat([QEVM, Buffer.alloc(1000, 1)]);
  const dir = capture(data, data);
  writeFileSync(join(dir, 'conn01.src2dst.bin'), data);
  const e = await t.throwsAsync(openCapture(dir), { instanceOf: CaptureError });
  t.is(e!.code, 'UNLISTED_FILE');
  t.regex(e!.message, /conn01\.src2dst\.bin: not listed in index\.json/);
  t.is((await openCapture(dir, { verify: false })).channels.length, 3);
});

test('a cut .gz channel file: the error says its last bytes are a gzip size field, not that it holds that many bytes', async (t) => {
  const data = Buffer.concat([QEVM, Buffer.alloc(300_000, 1)]);
  const dir = capture(data, data, true);
  const gz = join(dir, 'conn00.src2dst.bin.gz');
  writeFileSync(gz, readFileSync(gz).subarray(0, 200));
  await t.throwsAsync(openCapture(dir), { name: 'CaptureError', message: /conn00\.src2dst\.bin\.gz: ends in a gzip size field of \d+ bytes \(modulo 4 GiB; not one, if the file was cut\), index\.json says 300008/ });
});

test('an index.json whose connections list is empty vouches for no connNN file: each is UNLISTED_FILE', async (t) => {
  const data = Buffer.concat([QEVM, Buffer.alloc(1000, 1)]);
  const dir = capture(data, data);
  const indexPath = join(dir, 'index.json');
  writeFileSync(indexPath, JSON.stringify({ ...JSON.parse(readFileSync(indexPath, 'utf8')), connections: [] }));
  const e = await t.throwsAsync(openCapture(dir), { instanceOf: CaptureError });
  t.is(e!.code, 'UNLISTED_FILE');
});
