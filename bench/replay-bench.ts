/**
 * replay: a capture (main + 4 multifd channels) sent to the sink in the peers process, against
 * plain file-to-socket pipes from this process to the same sink.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { replayCapture } from 'migwire';
import { measure, record, type Measured } from './figures.js';
import { plainRead } from './codec-bench.js';
import { WORK } from './paths.js';
import { LOOPBACK, startPeers } from './record-bench.js';
import { sendFile } from './send.js';
import { makeMultifdCapture } from './synthetic.js';

export async function benchReplay(sizeMiB: number): Promise<void> {
  const dir = join(WORK, `multifd-none-${sizeMiB}`);
  if (!existsSync(join(dir, 'conn04.src2dst.bin'))) await makeMultifdCapture(dir, 'none', sizeMiB);
  const files = [0, 1, 2, 3, 4].map((c) => join(dir, `conn0${c}.src2dst.bin`));
  for (const f of files) await plainRead(f);
  const peers = await startPeers();
  try {
    let base: Measured | undefined;
    let fast: typeof base;
    for (let i = 0; i < 3; i++) {
      const b = await measure(async () => (await Promise.all(files.map((f) => sendFile(peers.sinkPort, f)))).reduce((a, n) => a + n, 0));
      if (!base || b.seconds < base.seconds) base = b;
      const r = await measure(async () => {
        const rep = await replayCapture(dir, { target: { host: LOOPBACK, port: peers.sinkPort }, timing: 'fast', idleTimeoutMs: 1000 });
        if (!rep.ok) throw new Error(`replay failed: ${rep.reason}`);
        return rep.connections.reduce((a, c) => a + c.bytesSent, 0);
      });
      if (!fast || r.seconds < fast.seconds) fast = r;
    }
    record('replay: 5 files piped to sockets', base!, undefined, 'best of 3; main + 4 multifd channels, concurrent; sink in its own process');
    record('replay --timing fast (main + 4 multifd)', fast!, base, 'best of 3; includes waiting for the sink to close', 'plain pipes');
  } finally {
    peers.close();
  }
}
