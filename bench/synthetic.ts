/**
 * Synthetic streams for the bench, built with the codec's own encoders: a precopy main stream
 * carrying every page of a guest, and a multifd capture (main + 4 channels). Used for the codec
 * figures, and for the CLI figures only when QEMU is not installed (the bench says so).
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { constants as zc, createDeflate } from 'node:zlib';
import { encodeMainRecordParts, encodeMultifdRecordParts, type MainRecordInput, type MultifdRamPacketRecord } from '@migwire/stream-codec';
import { MiB, PAGE } from './figures.js';

/** Write parts to a file through a stream, respecting backpressure. */
async function writeFileFrom(path: string, gen: () => Generator<Uint8Array>): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const ws = createWriteStream(path, { highWaterMark: 4 * MiB });
  let buf: Uint8Array[] = [];
  let size = 0;
  for (const p of gen()) {
    buf.push(p);
    size += p.length;
    if (size >= 4 * MiB) {
      if (!ws.write(Buffer.concat(buf))) await once(ws, 'drain');
      buf = [];
      size = 0;
    }
  }
  ws.end(Buffer.concat(buf));
  await once(ws, 'finish');
}

export function pageContent(i: number, out: Uint8Array): Uint8Array {
  // Non-zero, varying data: what a busy guest's RAM looks like to the decoder.
  out.fill(i & 0xff);
  out[0] = i >>> 24;
  out[1] = i >>> 16;
  out[2] = i >>> 8;
  out[3] = i;
  return out;
}


export const BLOCK = 'pc.ram';

function* mainHead(totalBytes: number): Generator<Uint8Array> {
  const recs: MainRecordInput[] = [
    { kind: 'header', magic: 0x5145564d, version: 3 },
    { kind: 'configuration', machine: 'pc-q35-10.0', subsections: [] },
    { kind: 'section', sectionType: 'start', sectionId: 2, idstr: 'ram', instanceId: 0, versionId: 4 },
    { kind: 'ram-mem-size', sectionId: 2, flags: 4, totalBytes },
    { kind: 'ram-block', sectionId: 2, block: { name: BLOCK, usedLength: totalBytes } },
  ];
  for (const r of recs) yield* encodeMainRecordParts(r);
}

function* mainTail(): Generator<Uint8Array> {
  for (const r of [
    { kind: 'ram-eos', sectionId: 2, flags: 0x10 },
    { kind: 'footer', sectionId: 2 },
    { kind: 'eof' },
  ] as MainRecordInput[])
    yield* encodeMainRecordParts(r);
}

/** A precopy main stream carrying every page of a `sizeMiB` guest as PAGE records. */
export async function makeMainStream(path: string, sizeMiB: number): Promise<void> {
  const pages = (sizeMiB * MiB) / PAGE;
  await writeFileFrom(path, function* () {
    yield* mainHead(pages * PAGE);
    const page = new Uint8Array(PAGE);
    for (let i = 0; i < pages; i++) {
      yield* encodeMainRecordParts({ kind: 'ram-page', sectionId: 2, flags: i === 0 ? 0x08 : 0x28, block: BLOCK, pageOffset: i * PAGE, data: Uint8Array.from(pageContent(i, page)) });
    }
    yield* mainTail();
  });
}

export const CHANNELS = 4;
const PAGES_PER_PACKET = 128;
const PACKETS_PER_ROUND = 64;

function syncPacket(num: number): MultifdRamPacketRecord {
  return { kind: 'multifd-packet', offset: 0, length: 0, layout: '10.0', magic: 0x11223344, version: 1, flags: 1, sync: true, compression: 'none', pagesAlloc: 0, normalPages: 0, zeroPages: 0, nextPacketSize: 0, packetNum: num, block: '', normalOffsets: [], zeroOffsets: [], raw: undefined as never, payload: new Uint8Array(0) };
}

/**
 * A multifd migration as a capture directory: main (MEM_SIZE, FLUSH per
 * round, EOS) and four channels whose packets carry every page once, split
 * in rounds of PACKETS_PER_ROUND packets per channel, each round ended by
 * a SYNC on every channel and a FLUSH on main.
 */
export async function makeMultifdCapture(dir: string, compression: 'none' | 'zlib', sizeMiB: number): Promise<{ pageBytes: number }> {
  const pages = (sizeMiB * MiB) / PAGE;
  const packets = pages / PAGES_PER_PACKET;
  const perChannel = Math.ceil(packets / CHANNELS);
  const rounds = Math.ceil(perChannel / PACKETS_PER_ROUND);
  mkdirSync(dir, { recursive: true });
  await writeFileFrom(join(dir, 'conn00.src2dst.bin'), function* () {
    yield* mainHead(pages * PAGE);
    for (let r = 0; r <= rounds; r++) {
      yield* encodeMainRecordParts({ kind: 'ram-multifd-flush', sectionId: 2, flags: 0x200 });
      yield* encodeMainRecordParts({ kind: 'ram-eos', sectionId: 2, flags: 0x10 });
      yield* encodeMainRecordParts({ kind: 'footer', sectionId: 2 });
      yield* encodeMainRecordParts({ kind: 'section', sectionType: r === rounds ? 'end' : 'part', sectionId: 2, idstr: 'ram' });
    }
    yield* mainTail();
  });
  let packetNum = 0;
  for (let c = 0; c < CHANNELS; c++) {
    const deflate = compression === 'zlib' ? createDeflate({ level: 1 }) : undefined;
    const path = join(dir, `conn${String(c + 1).padStart(2, '0')}.src2dst.bin`);
    const ws = createWriteStream(path, { highWaterMark: 4 * MiB });
    const write = async (parts: Uint8Array[]): Promise<void> => {
      for (const p of parts) if (!ws.write(p)) await once(ws, 'drain');
    };
    const init = new Uint8Array(64);
    init.set([0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1]);
    init[24] = c;
    await write([init]);
    await write(encodeMultifdRecordParts(syncPacket(packetNum++)));
    const page = new Uint8Array(PAGE);
    for (let k = 0; k < perChannel; k++) {
      const pkt = k * CHANNELS + c;
      if (pkt < packets) {
        const data = new Uint8Array(PAGES_PER_PACKET * PAGE);
        const offsets: number[] = [];
        for (let i = 0; i < PAGES_PER_PACKET; i++) {
          const p = pkt * PAGES_PER_PACKET + i;
          data.set(pageContent(p, page), i * PAGE);
          offsets.push(p * PAGE);
        }
        let payload: Uint8Array = data;
        if (deflate) {
          // One deflate stream per channel, flushed at every packet, as QEMU does.
          const chunks: Buffer[] = [];
          const onData = (b: Buffer): void => {
            chunks.push(b);
          };
          deflate.on('data', onData);
          deflate.write(data);
          await new Promise<void>((res) => deflate.flush(zc.Z_SYNC_FLUSH, () => res()));
          deflate.off('data', onData);
          payload = Buffer.concat(chunks);
        }
        const rec: MultifdRamPacketRecord = { ...syncPacket(packetNum++), block: BLOCK, flags: compression === 'zlib' ? 2 : 0, sync: false, compression, pagesAlloc: 128, normalPages: PAGES_PER_PACKET, normalOffsets: offsets, nextPacketSize: payload.length, payload };
        await write(encodeMultifdRecordParts(rec));
      }
      if ((k + 1) % PACKETS_PER_ROUND === 0 || k === perChannel - 1) await write(encodeMultifdRecordParts(syncPacket(packetNum++)));
    }
    ws.end();
    await once(ws, 'finish');
  }
  return { pageBytes: pages * PAGE };
}
