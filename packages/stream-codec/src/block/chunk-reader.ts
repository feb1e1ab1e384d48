/**
 * A cursor over a section's data for the block sections' chunk formats: each read checks there
 * are bytes enough, and a shortfall is a PayloadProblem naming what was being read.
 */
import type { ErrorCode } from '../core/errors.js';
import { PayloadProblem } from '../core/problem.js';
import { bytesToLatin1, readU32, readU64Exact, type U64 } from '../core/bytes.js';

export class ChunkReader {
  at = 0;
  constructor(
    readonly b: Uint8Array,
    private readonly code: ErrorCode,
  ) {}

  get left(): number {
    return this.b.length - this.at;
  }

  need(n: number, what: string): void {
    if (this.at + n > this.b.length) throw new PayloadProblem(this.code, `${what} runs past the section`, `${n} bytes`, `${this.left} left`, this.at);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.b[this.at++]!;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = readU32(this.b, this.at);
    this.at += 4;
    return v;
  }

  u64(what: string): U64 {
    this.need(8, what);
    const v = readU64Exact(this.b, this.at);
    this.at += 8;
    return v;
  }

  /** u8 length, then that many bytes (QEMU's counted string). */
  counted(what: string): string {
    const n = this.u8(`${what} length`);
    this.need(n, what);
    const s = bytesToLatin1(this.b.subarray(this.at, this.at + n));
    this.at += n;
    return s;
  }

  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  fail(message: string, expected: string, found: string, at = this.at): never {
    throw new PayloadProblem(this.code, message, expected, found, at);
  }
}
