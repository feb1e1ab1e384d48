/**
 * Where commands write. Lines are batched into ~1 MiB writes (not a write per line); stdout writes
 * are synchronous on Linux for files and pipes, so memory stays flat.
 */
export interface Output {
  line(text: string): void;
  err(text: string): void;
  flush(): void;
}

export class StdOutput implements Output {
  private buf: string[] = [];
  private size = 0;
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
    this.buf.push(text);
    this.size += text.length + 1;
    if (this.size > 1024 * 1024) this.flush();
  }

  err(text: string): void {
    this.flush();
    process.stderr.write(text + '\n');
  }

  flush(): void {
    if (this.buf.length === 0 || this.closed) return;
    process.stdout.write(this.buf.join('\n') + '\n');
    this.buf = [];
    this.size = 0;
  }
}

/** Collects output in memory (tests, embedding). */
export class MemoryOutput implements Output {
  readonly lines: string[] = [];
  readonly errors: string[] = [];
  line(text: string): void {
    this.lines.push(text);
  }
  err(text: string): void {
    this.errors.push(text);
  }
  flush(): void {}
}
