/**
 * The destination's RAM, block by block, as sparse image files. Pages are
 * written where they belong (adjacent pages in one write, in the background:
 * ordered-writer.ts); a page never written stays a hole (zero).
 */
import { closeSync, existsSync, ftruncateSync, readSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { openOutputFile, prepareOutputDir, writeOutputFile } from '@migwire/capture';
import { applyXbzrle, type RamBlockInfo } from '@migwire/stream-codec';
import { OrderedWriter } from './ordered-writer.js';
import { insideDir, safeFileName } from './safe-name.js';

interface BlockImage {
  info: RamBlockInfo;
  file: string;
  fd: number;
  /** One bit per page: has any content been written there? */
  written: Uint8Array;
  pagesWritten: number;
  /** Named by pages, not by a MEM_SIZE list (a stream captured mid-way): its length is where its last captured page ends. */
  unlisted?: true;
  /** Unlisted blocks: one bit per page that came as a zero page (its content is known too). */
  zeroed?: Uint8Array;
}

/** One block's line of blocks.json. */
export interface BlockSummary {
  name: string;
  file: string;
  length: number;
  pagesWritten: number;
  /** The stream's start was not captured: only the pages captured are in the image (the rest read as zero), `length` ends at the last of them. */
  partial?: true;
}

const ZERO_PAGE = new Uint8Array(65536);

/** Default bound on the images' total size (`--max-image-bytes`): far above any guest we record. */
export const DEFAULT_MAX_IMAGE_BYTES = 64 * 1024 ** 3;

/** A stream whose RAM blocks would make images larger than allowed (a crafted or absurd length). */
export class ImageLimitError extends Error {
  override name = 'ImageLimitError';
}

export interface RamImagesOptions {
  /** Write into a folder that is not empty, replacing files of the same name (never through a link). */
  force?: boolean;
  /** Refuse blocks that would make the images add up to more (default 64 GiB). */
  maxImageBytes?: number;
  /**
   * The stream's start (its MEM_SIZE block list) was not captured: a block gets its image when a
   * page first names it, and grows to its last page; every block is marked partial.
   */
  unlisted?: boolean;
}

export class RamImages {
  private readonly images = new Map<string, BlockImage>();
  private readonly taken = new Set<string>();
  private scratch: Uint8Array;
  private readonly writer = new OrderedWriter();

  constructor(
    private readonly dir: string,
    private readonly pageSize = 4096,
    private readonly only: ReadonlySet<string> | undefined = undefined,
    private readonly o: RamImagesOptions = {},
  ) {
    this.createdDir = !existsSync(dir);
    prepareOutputDir(dir, { force: o.force ?? false });
    this.scratch = new Uint8Array(pageSize);
  }

  /** The folder did not exist before: removeOutput() may remove it. */
  private readonly createdDir: boolean;

  /**
   * Undo the output (a usage error found once the block list was read): the image files made so
   * far are removed, and the folder too if this run created it. Nothing else is touched.
   */
  async removeOutput(): Promise<void> {
    await this.writer.close().catch(() => undefined);
    for (const i of this.images.values()) {
      closeSync(i.fd);
      rmSync(insideDir(this.dir, i.file), { force: true });
    }
    this.images.clear();
    // rmdir: the folder goes only if it is empty (nothing but what this run wrote was there).
    if (this.createdDir) rmdirSync(this.dir);
  }

  /** Bytes the images hold so far (the sum of their block lengths). */
  private total = 0;

  /** Called for every MEM_SIZE entry; a block listed again (a new stream) keeps its image. */
  addBlock(info: RamBlockInfo): void {
    if (this.images.has(info.name) || (this.only && !this.only.has(info.name))) return;
    this.reserve(info.name, info.usedLength);
    const file = safeFileName(info.name, this.taken);
    const fd = openOutputFile(insideDir(this.dir, file), { replace: this.o.force ?? false, read: true });
    ftruncateSync(fd, info.usedLength);
    this.images.set(info.name, { info, file, fd, written: new Uint8Array(Math.ceil(info.usedLength / this.pageSize / 8)), pagesWritten: 0 });
  }

  /** Count `bytes` more towards --max-image-bytes, or refuse. */
  private reserve(name: string, bytes: number): void {
    const max = this.o.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
    if (this.total + bytes > max) {
      throw new ImageLimitError(`RAM block ${JSON.stringify(name)} is ${bytes} bytes: the images would hold ${this.total + bytes} bytes, over --max-image-bytes ${max}; nothing that large is written`);
    }
    this.total += bytes;
  }

  has(block: string): boolean {
    return this.images.has(block) || (this.o.unlisted === true && (!this.only || this.only.has(block)));
  }

  /** Unlisted mode: every block a page named, imaged or not (--block). */
  private readonly named = new Set<string>();

  /** Blocks pages have named so far (unlisted mode). */
  names(): string[] {
    return [...this.named];
  }

  /** `grow`: an unlisted block gets (or extends) its image to hold the page; else only pages inside a known block are taken. */
  private image(block: string, offset: number, grow = false): BlockImage | undefined {
    let img = this.images.get(block);
    if (grow && this.o.unlisted) this.named.add(block);
    if (!img && grow && this.o.unlisted && (!this.only || this.only.has(block))) {
      const file = safeFileName(block, this.taken);
      const fd = openOutputFile(insideDir(this.dir, file), { replace: this.o.force ?? false, read: true });
      img = { info: { name: block, usedLength: 0 }, file, fd, written: new Uint8Array(0), pagesWritten: 0, unlisted: true, zeroed: new Uint8Array(0) };
      this.images.set(block, img);
    }
    if (img?.unlisted && grow && offset + this.pageSize > img.info.usedLength) {
      const end = offset + this.pageSize;
      this.reserve(block, end - img.info.usedLength);
      img.info.usedLength = end;
      const bytes = Math.ceil(end / this.pageSize / 8);
      if (bytes > img.written.length) {
        img.written = grown(img.written, bytes);
        img.zeroed = grown(img.zeroed!, bytes);
      }
    }
    if (!img || offset + this.pageSize > img.info.usedLength) return undefined;
    return img;
  }

  /** `stable`: `data` stays valid until written (a view of a read buffer); otherwise it is copied. */
  writePage(block: string, offset: number, data: Uint8Array, stable = false): void {
    const img = this.image(block, offset, true);
    if (!img) return;
    this.writer.put(img.fd, offset, data, stable);
    const p = offset / this.pageSize;
    if (!(img.written[p >> 3]! & (1 << (p & 7)))) {
      img.written[p >> 3]! |= 1 << (p & 7);
      img.pagesWritten++;
    }
  }

  /** A zero page: only pages that held data need zeroing; the rest stay holes. */
  zeroPage(block: string, offset: number, fill = 0): void {
    const img = this.image(block, offset, true);
    if (!img) return;
    const p = offset / this.pageSize;
    if (img.zeroed) img.zeroed[p >> 3]! |= 1 << (p & 7);
    if (fill !== 0) {
      this.writePage(block, offset, new Uint8Array(this.pageSize).fill(fill), true);
      return;
    }
    if (img.written[p >> 3]! & (1 << (p & 7))) this.writer.put(img.fd, offset, ZERO_PAGE.subarray(0, this.pageSize), true);
  }

  /** Does a write not yet done hold a view of `buffer`? */
  inUse(buffer: ArrayBufferLike): boolean {
    return this.writer.inUse(buffer);
  }

  /** Wait here when enough writes are queued (keeps memory flat); undefined when there is room. */
  ready(): Promise<void> | undefined {
    return this.writer.ready();
  }

  /**
   * Apply an XBZRLE delta to the page's current content. False when that content was sent before
   * the capture began (an unlisted block's page never written): the page is left as it is.
   */
  xbzrle(block: string, offset: number, delta: Uint8Array): boolean {
    const img = this.image(block, offset);
    if (img?.unlisted && !this.isKnown(img, offset)) return false;
    if (!img) return true;
    const page = this.scratch;
    if (!this.writer.unwritten(img.fd, offset, page)) readSync(img.fd, page, 0, this.pageSize, offset);
    applyXbzrle(page, delta);
    this.writePage(block, offset, page);
    return true;
  }

  /** Is the page's content known: written, or (unlisted blocks) sent as a zero page? */
  private isKnown(img: BlockImage, offset: number): boolean {
    const p = offset / this.pageSize;
    return ((img.written[p >> 3]! | (img.zeroed?.[p >> 3] ?? 0)) & (1 << (p & 7))) !== 0;
  }

  /** POSTCOPY_RAM_DISCARD: the destination drops these pages (they read as zero until re-sent). */
  discard(block: string, start: number, length: number): void {
    for (let o = start; o < start + length; o += this.pageSize) this.zeroPage(block, o);
  }

  /** Close the files and write blocks.json; returns the per-block summary. */
  async finish(): Promise<BlockSummary[]> {
    await this.writer.close();
    const summary = [...this.images.values()].map((i): BlockSummary => ({ name: i.info.name, file: i.file, length: i.info.usedLength, pagesWritten: i.pagesWritten, ...(this.o.unlisted ? { partial: true } : {}) }));
    for (const i of this.images.values()) {
      // An unlisted block ends at its last captured page, zero pages included (never written: a hole).
      if (i.unlisted) ftruncateSync(i.fd, i.info.usedLength);
      closeSync(i.fd);
    }
    writeOutputFile(insideDir(this.dir, 'blocks.json'), JSON.stringify(summary, null, 2) + '\n', { replace: this.o.force ?? false });
    return summary;
  }
}

/** A bitmap made longer (at least doubled), its bits kept. */
function grown(bits: Uint8Array, bytes: number): Uint8Array {
  const more = new Uint8Array(Math.max(bytes, bits.length * 2));
  more.set(bits);
  return more;
}

/**
 * A mapped-ram block's region as it streams past: first the bitmap (one bit
 * per page, little-endian 64-bit words), then padding, then every page slot.
 * Pages whose bit is set are copied out as their bytes go by.
 */
export class MappedRamRegion {
  private pos: number;
  private readonly bitmap: Uint8Array;
  private pageBuf: Uint8Array;
  private pageFill = 0;

  /** A region for the block, or undefined when a header field is beyond 2^53 (the decoder rejects those). */
  static of(info: RamBlockInfo, start: number, images: RamImages): MappedRamRegion | undefined {
    const h = info.mappedRam;
    if (!h || typeof h.pageSize !== 'number' || typeof h.bitmapOffset !== 'number' || typeof h.pagesOffset !== 'number') return undefined;
    return new MappedRamRegion({ ...info, mappedRam: { version: h.version, pageSize: h.pageSize, bitmapOffset: h.bitmapOffset, pagesOffset: h.pagesOffset } }, start, images);
  }

  private constructor(
    private readonly info: RamBlockInfo & { mappedRam: { version: number; pageSize: number; bitmapOffset: number; pagesOffset: number } },
    /** Absolute file offset where the region starts (just after the header). */
    start: number,
    private readonly images: RamImages,
  ) {
    this.pos = start;
    this.bitmap = new Uint8Array(Math.ceil(info.usedLength / info.mappedRam.pageSize / 64) * 8);
    this.pageBuf = new Uint8Array(info.mappedRam.pageSize);
  }

  feed(data: Uint8Array): void {
    const h = this.info.mappedRam;
    let i = 0;
    while (i < data.length) {
      const abs = this.pos;
      if (abs < h.bitmapOffset + this.bitmap.length) {
        if (abs >= h.bitmapOffset) this.bitmap[abs - h.bitmapOffset] = data[i]!;
        i++;
        this.pos++;
        continue;
      }
      if (abs < h.pagesOffset) {
        const skip = Math.min(h.pagesOffset - abs, data.length - i);
        i += skip;
        this.pos += skip;
        continue;
      }
      const page = Math.floor((abs - h.pagesOffset) / h.pageSize);
      const within = (abs - h.pagesOffset) % h.pageSize;
      const take = Math.min(h.pageSize - within, data.length - i);
      const set = (this.bitmap[page >> 3]! >> (page & 7)) & 1;
      if (set) {
        if (within === 0 && take === h.pageSize) {
          this.images.writePage(this.info.name, page * h.pageSize, data.subarray(i, i + take), true);
        } else {
          this.pageBuf.set(data.subarray(i, i + take), within);
          this.pageFill = within + take;
          if (this.pageFill === h.pageSize) this.images.writePage(this.info.name, page * h.pageSize, this.pageBuf);
        }
      }
      i += take;
      this.pos += take;
    }
  }
}
