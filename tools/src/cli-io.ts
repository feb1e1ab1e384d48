/**
 * Where commands write. Lines are batched into ~1 MiB writes (not a write per line); stdout writes
 * are synchronous on Linux for files and pipes, so memory stays flat.
 */
export interface Output {
  line(text: string): void;
  /** A line a LineSource writes as UTF-8 bytes straight into the output (no string made). */
  lineFrom(source: LineSource): void;
  err(text: string): void;
  flush(): void;
}

/** Something that writes one line's UTF-8 bytes (no newline) into a buffer. */
export interface LineSource {
  /** The most bytes the next writeInto writes. */
  readonly maxBytes: number;
  /** Writes the line into `buf` from `at`; returns where it ends. */
  writeInto(buf: Uint8Array, at: number): number;
}

/** Output is gathered into buffers of this size and written with one call each. */
const WRITE_SIZE = 1024 * 1024;

export class StdOutput implements Output {
  // Lines are encoded into the buffer as they come (short-lived strings, no join); a fresh buffer
  // after each write, since a write to a socket may still hold the last one.
  private buf = Buffer.allocUnsafe(WRITE_SIZE);
  private used = 0;
  private closed = false;

  constructor() {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      // A reader that went away (`| head`) is not an error of ours.
      if (e.code === 'EPIPE') {
        this.closed = true;
        process.exit(0);
      }
      throw e;
    });
  }

  line(text: string): void {
    if (this.closed) return;
    // Worst case 3 bytes per UTF-16 unit, plus the newline.
    if (this.used + text.length * 3 + 1 > WRITE_SIZE) {
      this.flush();
      if (text.length * 3 + 1 > WRITE_SIZE) {
        process.stdout.write(text + '\n');
        return;
      }
    }
    this.used += this.buf.write(text, this.used, 'utf8');
    this.buf[this.used++] = 0x0a;
  }

  lineFrom(source: LineSource): void {
    if (this.closed) return;
    const max = source.maxBytes;
    if (this.used + max + 1 > WRITE_SIZE) {
      this.flush();
      if (max + 1 > WRITE_SIZE) {
        const own = Buffer.allocUnsafe(max + 1);
        const end = source.writeInto(own, 0);
        own[end] = 0x0a;
        process.stdout.write(own.subarray(0, end + 1));
        return;
      }
    }
    this.used = source.writeInto(this.buf, this.used);
    this.buf[this.used++] = 0x0a;
  }

  err(text: string): void {
    this.flush();
    process.stderr.write(text + '\n');
  }

  flush(): void {
    if (this.used === 0 || this.closed) return;
    process.stdout.write(this.buf.subarray(0, this.used));
    this.buf = Buffer.allocUnsafe(WRITE_SIZE);
    this.used = 0;
  }
}

/** Collects output in memory (tests, embedding). */
export class MemoryOutput implements Output {
  readonly lines: string[] = [];
  readonly errors: string[] = [];
  line(text: string): void {
    this.lines.push(text);
  }
  lineFrom(source: LineSource): void {
    const b = Buffer.allocUnsafe(source.maxBytes);
    this.lines.push(b.toString('utf8', 0, source.writeInto(b, 0)));
  }
  err(text: string): void {
    this.errors.push(text);
  }
  flush(): void {}
}
