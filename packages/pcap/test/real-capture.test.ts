/**
 * Real tcpdump and dumpcap captures of a loopback transfer of known bytes: the reassembled
 * directions equal what was sent, and agree with tshark's own reassembly. Skipped outside CI
 * when the tools are missing; under CI their absence fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { fileSource, indexCapture, readDirection, type ChannelConnection, type Direction } from '../src/index.js';
import { concat, pattern } from './helpers/frames.js';
import { type Capturer, captureTransfer, haveTool, tsharkFollow } from './helpers/real-capture.js';

const SIZE = 20 << 20;
// The client's bytes open like a QEMU main channel so that discovery names the connection.
const up = concat([Uint8Array.of(0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3), pattern(SIZE - 8, 11)]);
const down = pattern(SIZE, 12);
const ci = process.env['CI'] === 'true';

async function reassembled(path: string, c: ChannelConnection, d: Direction): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const e of readDirection(fileSource(path)(), c, d)) {
    if (e.kind === 'data') parts.push(e.bytes);
    if (e.kind === 'hole' || e.kind === 'conflict') throw new Error(`${d}: ${e.kind} at ${e.offset}`);
  }
  return concat(parts);
}

for (const tool of ['tcpdump', 'dumpcap'] as Capturer[]) {
  test.serial(`${tool} capture of a 20 MB loopback transfer each way reassembles byte-exactly`, async (t) => {
    const tools = [tool, 'tshark'];
    for (const name of tools) {
      if (!(await haveTool(name))) {
        if (ci) t.fail(`${name} is not installed (CI=true): run .ci/install-qemu.sh`);
        else t.pass(`skipped: ${name} not installed`);
        return;
      }
    }
    const dir = await mkdtemp(join(tmpdir(), 'migwire-pcap-'));
    try {
      const file = join(dir, tool === 'tcpdump' ? 'lo.pcap' : 'lo.pcapng');
      const port = await captureTransfer(tool, file, up, down);
      const index = await indexCapture(fileSource(file)());
      t.is(index.migrations.length, 1);
      const conn = index.migrations[0]!.connections[0]!;
      t.like(conn, { role: 'main', orientation: 'syn', dst: { address: '127.0.0.1', port } });
      t.is(index.missingBytes, 0);
      t.deepEqual(conn.problems, []);
      const sent = await reassembled(file, conn, 'src2dst');
      const back = await reassembled(file, conn, 'dst2src');
      t.true(Buffer.from(sent).equals(up), 'client->server bytes differ');
      t.true(Buffer.from(back).equals(down), 'server->client bytes differ');
      if (tool === 'dumpcap') {
        const [c2s, s2c] = await tsharkFollow(file);
        t.true(c2s.equals(sent), 'tshark client->server differs');
        t.true(s2c.equals(back), 'tshark server->client differs');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
