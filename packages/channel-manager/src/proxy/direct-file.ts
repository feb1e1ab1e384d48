/**
 * A recording file written with O_DIRECT (`record --direct-io`): received bytes are copied into
 * page-aligned 1 MiB batches and written straight to the device, not through the page cache.
 * Buffered writes cost the recorder 0.4-3.8 s of CPU per GiB on the machines here (the kernel's
 * copy into fresh page-cache pages), O_DIRECT ~0.15 s, and a long recording no longer pushes
 * everything else out of memory. The price: writes go at the device's speed, with no page cache
 * to absorb a burst (QEMU's own `direct-io` parameter makes the same trade, and is off by default).
 *
 * O_DIRECT needs the buffer, the file offset and the length aligned to the device's block: the
 * batches live in a WebAssembly.Memory (page-aligned), every write starts at a multiple of ALIGN,
 * and a part-filled batch written early writes only its whole blocks, carrying the rest over. At
 * close the last block is written padded and the file truncated to its exact length. Writes go
 * one at a time, in order, so after a refused write the file holds a prefix of the stream.
 *
 * In place: a stream read into aligned slabs (read-slabs.ts) is written straight from them, whole
 * blocks at a time, with no copy at all; each chunk is done with once its bytes are on disk. Were
 * the slabs to stop being aligned (no memory for more), the file goes on copying from there.
 */
import { closeSync, constants, ftruncateSync, write } from 'node:fs';
import { OutputError, openOutputFile } from '@migwire/capture';
import type { RecordingFile, RecordingFileEvents } from './recording-file.js';
import type { Slab } from './read-slabs.js';
import { ALIGN, alignedBuffers } from './aligned-memory.js';

/** Bytes per write and per batch buffer. */
export const DIRECT_BATCH_BYTES = 1024 * 1024;
/** The most a direct file lets the network get ahead: writes go one MiB at a time, so 4 keep the disk busy. */
const DIRECT_LAG_MAX = 4 * 1024 * 1024;

export interface DirectFileOptions extends RecordingFileEvents {
  /** Bytes the file may lag behind (capped at DIRECT_LAG_MAX): sizes the buffer ring. */
  lagBytes: number;
  /** Write a part-filled batch's whole blocks after this long, so a quiet connection's file keeps up. */
  batchMs: number;
}

/**
 * Opens `path` new with O_DIRECT; undefined when the file system refuses O_DIRECT (tmpfs, some
 * network file systems), so the caller records through the page cache instead.
 */
export function openDirect(path: string, replace: boolean, o: DirectFileOptions): DirectFile | undefined {
  let fd: number;
  try {
    fd = openOutputFile(path, { replace, flags: constants.O_DIRECT });
  } catch (e) {
    if (e instanceof OutputError && (e.cause as NodeJS.ErrnoException | undefined)?.code === 'EINVAL') return undefined;
    throw e;
  }
  return new DirectFile(fd, o);
}

interface Job {
  buf: Buffer;
  /** Slab memory written in place (not a batch buffer to reuse). */
  inPlace: boolean;
  from: number;
  len: number;
  /** How many of `len` are stream bytes (the rest: the last block's padding). */
  stream: number;
  pos: number;
}

export class DirectFile implements RecordingFile {
  readonly #free: Buffer[] = [];
  #batch: Buffer | undefined;
  #fill = 0;
  /** File offset of the current batch's first byte (a multiple of ALIGN). */
  #at = 0;
  /** Stream bytes accepted. */
  #accepted = 0;
  readonly #queue: Job[] = [];
  #writing = false;
  #failed = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #waiters: Array<() => void> = [];
  /** In place: the slab the stream is being read into. */
  #slab: Slab | undefined;
  /** In place: chunks to let go of once the file holds their last byte (`end`, a stream offset). */
  #holding: Array<{ end: number; done: () => void }> = [];
  /** Bytes accepted but not yet on disk. */
  lag = 0;
  /** Past this lag the caller pauses its reader (the ring of batch buffers is sized for it). */
  readonly lagLimit: number;

  constructor(
    private readonly fd: number,
    private readonly o: DirectFileOptions,
  ) {
    this.lagLimit = Math.max(DIRECT_BATCH_BYTES, Math.min(o.lagBytes, DIRECT_LAG_MAX));
  }

  /**
   * Take `chunk`: written in place when it is in an aligned slab (from the stream's first byte),
   * `done` called once it is on disk; otherwise copied in, `done` called before returning. Full
   * batches are queued at once.
   */
  write(chunk: Uint8Array, done?: () => void, slab?: Slab): boolean {
    if (this.#failed || this.#closed) {
      done?.();
      return true;
    }
    // In place from the stream's first byte only: the slabs' alignment is to stream offsets.
    if (slab?.aligned && (this.#slab !== undefined || this.#accepted === 0)) return this.#inPlace(chunk, slab, done);
    if (this.#slab) this.#leavePlace();
    try {
      return this.#copyIn(chunk);
    } finally {
      done?.();
    }
  }

  #inPlace(chunk: Uint8Array, slab: Slab, done: (() => void) | undefined): boolean {
    if (slab !== this.#slab) {
      // The new slab starts at a block boundary, carrying that block's earlier bytes: the old
      // slab's part ends there.
      if (this.#slab) this.#queueInPlace(slab.base);
      this.#slab = slab;
    }
    this.#accepted += chunk.length;
    this.lag += chunk.length;
    if (done) this.#holding.push({ end: this.#accepted, done });
    const whole = this.#accepted - (this.#accepted % ALIGN);
    if (whole - this.#at >= DIRECT_BATCH_BYTES) this.#queueInPlace(whole);
    else if (!this.#timer) this.#timer = setTimeout(() => this.#early(), this.o.batchMs);
    return this.lag < this.lagLimit;
  }

  /** Queue the stream's bytes up to `to` (a block boundary, or the end padded at close) from the current slab. */
  #queueInPlace(to: number, last = false): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const slab = this.#slab!;
    const stream = to - this.#at;
    const len = last ? Math.ceil(stream / ALIGN) * ALIGN : stream;
    if (len <= 0) return;
    const from = this.#at - slab.base;
    this.#queue.push({ buf: slab.bytes.subarray(from, from + len), inPlace: true, from: 0, len, stream, pos: this.#at });
    this.#at += len;
    this.#next();
  }

  /** Chunks stop coming in aligned slabs: queue the whole blocks in place, copy the last part block, go on copying. */
  #leavePlace(): void {
    const slab = this.#slab!;
    const whole = this.#accepted - (this.#accepted % ALIGN);
    this.#queueInPlace(whole);
    this.#slab = undefined;
    const rest = this.#accepted - whole;
    if (rest > 0 && !this.#failed) {
      const batch = (this.#batch = this.#take());
      if (batch) {
        slab.bytes.copy(batch, 0, whole - slab.base, whole - slab.base + rest);
        this.#fill = rest;
      }
    }
    // What is held now depends only on the blocks queued above.
    for (const h of this.#holding) h.end = Math.min(h.end, whole);
    this.#letGo();
  }

  /** Let go of the chunks whose bytes are all on disk (all of them once the file failed or closed). */
  #letGo(): void {
    const onDisk = this.#failed ? Infinity : this.#queue[0]?.pos ?? this.#at;
    let n = 0;
    while (n < this.#holding.length && this.#holding[n]!.end <= onDisk) n++;
    if (n === 0) return;
    const gone = this.#holding.splice(0, n);
    for (const h of gone) h.done();
  }

  #copyIn(chunk: Uint8Array): boolean {
    this.#accepted += chunk.length;
    this.lag += chunk.length;
    for (let off = 0; off < chunk.length; ) {
      const batch = (this.#batch ??= this.#take());
      if (!batch) return true;
      const n = Math.min(batch.length - this.#fill, chunk.length - off);
      batch.set(chunk.subarray(off, off + n), this.#fill);
      this.#fill += n;
      off += n;
      if (this.#fill === batch.length) this.#queueBatch(false);
    }
    if (this.#fill > 0 && !this.#timer) this.#timer = setTimeout(() => this.#early(), this.o.batchMs);
    return this.lag < this.lagLimit;
  }

  /** Resolves once every queued batch is on disk (or the file failed). */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#wake();
    });
  }

  /** Write what is left (the last block padded), truncate to the exact length, close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    if (!this.#failed && this.#slab && this.#accepted > this.#at) this.#queueInPlace(this.#accepted, true);
    else if (!this.#failed && this.#fill > 0) this.#queueBatch(true);
    await this.drained();
    this.#closed = true;
    try {
      if (!this.#failed) ftruncateSync(this.fd, this.#accepted);
    } catch (e) {
      this.#fail((e as Error).message);
    }
    closeSync(this.fd);
  }

  /** The timer: a quiet connection's whole blocks go to disk now, not when the batch fills. */
  #early(): void {
    this.#timer = undefined;
    if (this.#failed || this.#closed) return;
    if (this.#slab) this.#queueInPlace(this.#accepted - (this.#accepted % ALIGN));
    else if (this.#fill >= ALIGN) this.#queueBatch(false);
  }

  /**
   * A free page-aligned batch buffer. The ring holds what the lag allows (the reader pauses
   * there) plus the batch being filled and one being written; past that (a larger lag than
   * announced) another WebAssembly memory is made.
   */
  #take(): Buffer | undefined {
    const b = this.#free.pop();
    if (b) return b;
    try {
      this.#free.push(...alignedBuffers(Math.ceil(this.lagLimit / DIRECT_BATCH_BYTES) + 2, DIRECT_BATCH_BYTES).reverse());
    } catch (e) {
      // Address space for WebAssembly memories runs out only with very many channels: the recording fails, named.
      this.#fail(`cannot allocate page-aligned buffers for O_DIRECT (${(e as Error).message}): record without --direct-io`);
      return undefined;
    }
    return this.#free.pop();
  }

  /** Queue the batch's whole blocks (all of it, the last block padded, when `last`); the rest starts the next batch. */
  #queueBatch(last: boolean): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#batch!;
    const len = last ? Math.ceil(this.#fill / ALIGN) * ALIGN : Math.floor(this.#fill / ALIGN) * ALIGN;
    if (len === 0) return;
    const stream = Math.min(len, this.#fill);
    if (len > stream) batch.fill(0, stream, len);
    const rest = this.#fill - stream;
    this.#batch = undefined;
    this.#fill = 0;
    if (rest > 0) {
      const next = this.#take();
      if (!next) return;
      this.#batch = next;
      next.set(batch.subarray(stream, stream + rest), 0);
      this.#fill = rest;
    }
    this.#queue.push({ buf: batch, inPlace: false, from: 0, len, stream, pos: this.#at });
    this.#at += len;
    this.#next();
  }

  #next(): void {
    if (this.#writing || this.#failed) return;
    const job = this.#queue[0];
    if (!job) return this.#wake();
    this.#writing = true;
    write(this.fd, job.buf, job.from, job.len, job.pos, (err, n) => {
      this.#writing = false;
      if (err) return this.#fail(err.message);
      const counted = Math.min(n, job.stream);
      if (counted > 0) {
        this.lag -= counted;
        this.o.onWritten(counted);
      }
      if (n < job.len) {
        // A short write: the rest from where it stopped (kept aligned by the device, or refused next time).
        job.from += n;
        job.len -= n;
        job.pos += n;
        job.stream -= counted;
      } else {
        this.#queue.shift();
        if (!job.inPlace) this.#free.push(job.buf);
      }
      this.#letGo();
      this.#next();
    });
  }

  #fail(message: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#queue.length = 0;
    this.lag = 0;
    this.o.onError(message);
    // The slabs may go once no write reads them (one under way lets go when it ends).
    if (!this.#writing) this.#letGo();
    this.#wake();
  }

  #wake(): void {
    if (!this.#failed && (this.#writing || this.#queue.length > 0)) return;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}
