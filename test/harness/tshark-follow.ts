/**
 * Wireshark's own TCP reassembly as a reference: `tshark -q -z follow,tcp,raw,N` prints each
 * direction's reassembled bytes as hex (the second node's lines indented by a tab). Compared per
 * connection and direction with @migwire/pcap's (digest and length; streamed, bounded memory): read
 * by position where the index noted extents (a plain file), else by a second reassembly pass.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { type CaptureIndex, type ChannelConnection, type Direction, fileSource, readDirection, readExtents, type StreamEvent, streamExtents } from '@migwire/pcap';

interface Followed {
  /** "address:port" of node 0 and node 1. */
  nodes: [string, string];
  sha: [string, string];
  bytes: [number, number];
}

/** tshark's reassembly of TCP stream `stream` of `file`. */
export async function tsharkFollow(file: string, stream: number): Promise<Followed> {
  const child = spawn('tshark', ['-r', file, '-q', '-z', `follow,tcp,raw,${stream}`], { stdio: ['ignore', 'pipe', 'ignore'] });
  const hashes = [createHash('sha256'), createHash('sha256')] as const;
  const bytes: [number, number] = [0, 0];
  const nodes: [string, string] = ['', ''];
  let body = false;
  for await (const line of createInterface({ input: child.stdout!, crlfDelay: Infinity })) {
    const node = /^Node ([01]): (.*)$/.exec(line);
    if (node) {
      nodes[Number(node[1]) as 0 | 1] = node[2]!;
      if (node[1] === '1') body = true;
      continue;
    }
    if (!body || line.startsWith('=') || line.length === 0) continue;
    const side = line.startsWith('\t') ? 1 : 0;
    const b = Buffer.from(line.trim(), 'hex');
    hashes[side].update(b);
    bytes[side] += b.length;
  }
  const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('close', resolve)));
  if (code !== 0) throw new Error(`tshark follow,tcp,raw,${stream} on ${file} exited ${code}`);
  return { nodes, sha: [hashes[0].digest('hex'), hashes[1].digest('hex')], bytes };
}

const endpoint = (e: { address: string; port: number }): string => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);

/** Our bytes of one direction: read by position when the index noted where they lie, else reassembled again. */
async function ours(file: string, index: CaptureIndex, c: ChannelConnection, d: Direction): Promise<{ sha: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  const extents = streamExtents(index, c, d);
  const chunks = extents ? readExtents(file, extents) : dataOf(readDirection(fileSource(file)(), c, d));
  for await (const b of chunks) {
    h.update(b);
    bytes += b.length;
  }
  return { sha: h.digest('hex'), bytes };
}

async function* dataOf(events: AsyncIterable<StreamEvent>): AsyncGenerator<Uint8Array> {
  for await (const e of events) if (e.kind === 'data') yield e.bytes;
}

/**
 * Every connection of the capture (migrations' and ignored), both directions, against tshark's
 * stream of the same index: what differs, as readable lines (empty: all equal).
 */
export async function differencesFromTshark(file: string, index: CaptureIndex): Promise<string[]> {
  const conns = [...index.migrations.flatMap((m) => m.connections), ...index.ignored].sort((x, y) => x.index - y.index);
  const out: string[] = [];
  for (const c of conns) {
    const ref = await tsharkFollow(file, c.index);
    const srcIs = ref.nodes.indexOf(endpoint(c.src));
    if (srcIs < 0 || ref.nodes[1 - srcIs] !== endpoint(c.dst)) {
      out.push(`connection ${c.index} ${endpoint(c.src)} -> ${endpoint(c.dst)}: tshark's stream ${c.index} is ${ref.nodes.join(' <-> ')}`);
      continue;
    }
    for (const d of ['src2dst', 'dst2src'] as const) {
      const node = d === 'src2dst' ? srcIs : 1 - srcIs;
      const mine = await ours(file, index, c, d);
      if (mine.sha !== ref.sha[node] || mine.bytes !== ref.bytes[node]) {
        out.push(`connection ${c.index} ${d}: ${mine.bytes} bytes (sha256 ${mine.sha.slice(0, 12)}), tshark ${ref.bytes[node]} (${ref.sha[node]!.slice(0, 12)})`);
      }
    }
  }
  return out;
}
