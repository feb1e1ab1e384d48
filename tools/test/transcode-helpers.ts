/** Transcode without QEMU: the bytes it would send, kept in memory and written as a capture. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { runExtract, runTranscode, type ByteSink, type TranscodeOptions, type TranscodeReport } from '../src/index.js';

export class MemorySink implements ByteSink {
  bytes = 0;
  readonly parts: Buffer[] = [];
  constructor(readonly name: string) {}
  write(parts: readonly Uint8Array[]): void {
    for (const p of parts) {
      this.parts.push(Buffer.from(p));
      this.bytes += p.length;
    }
  }
  ready(): undefined {
    return undefined;
  }
  end(): void {}
}

/** Transcode into a capture directory (connNN.src2dst.bin per channel, in dial order; the preempt channel last). */
export async function transcodeToCapture(path: string, o: Omit<TranscodeOptions, 'target' | 'output'>): Promise<{ dir: string; report: TranscodeReport }> {
  const mainSink = new MemorySink('main');
  const multifd = Array.from({ length: o.channels }, (_, i) => new MemorySink(`multifd ${i}`));
  const preempt = o.preempt ? new MemorySink('postcopy-preempt') : undefined;
  const report = await runTranscode(path, { ...o, target: undefined, output: { main: mainSink, multifd, ...(preempt ? { preempt } : {}) } });
  const dir = mkdtempSync(join(tmpdir(), 'mw-transcode-'));
  [mainSink, ...multifd, ...(preempt ? [preempt] : [])].forEach((s, i) => writeFileSync(join(dir, `conn${String(i).padStart(2, '0')}.src2dst.bin`), Buffer.concat(s.parts)));
  return { dir, report };
}

export const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

export async function ramOf(path: string): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'mw-ram-'));
  try {
    const r = await runExtract(path, { outDir: out, blocks: ['pc.ram'], quiet: true });
    if (r.errors.length) throw new Error(r.errors.join('; '));
    return sha(join(out, 'pc.ram.img'));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}


/** A TCP peer on loopback standing in for a destination: `onConnection` says what it does with each connection. */
export async function tcpPeer(onConnection: (s: Socket, index: number) => void): Promise<{ port: number; close: () => void }> {
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    onConnection(s, sockets.length - 1);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
