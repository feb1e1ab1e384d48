/**
 * The two migration endpoints of the record benchmark, in a process of their own (forked by
 * run.ts): a source that opens four multifd-like connections and a destination sink that discards
 * what it receives. Between two real QEMUs, `migwire record` has its process to itself; running
 * the endpoints on the proxy's event loop would charge their work to the proxy.
 *
 * Protocol (process messages): the child sends {type:'ready', sinkPort}; then for each
 * {id, op:'synthetic', port, perChannel, channels} or {id, op:'files', port, files} (sent from memory) it sends
 * {id, bytes} when every connection has been ended by the far side too, and for
 * {id, op:'received'} it sends {id, bytes} with the sink's count so far; {id, op:'load', files}
 * reads the files into memory beforehand (not timed).
 */
import { createServer, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { connection, write } from './send.js';

const LOOPBACK = '127.0.0.1';
const PAGE = 4096;
const CHUNK = 256 * 1024;

type Request =
  | { id: number; op: 'synthetic'; port: number; perChannel: number; channels: number }
  | { id: number; op: 'files'; port: number; files: string[] }
  | { id: number; op: 'received' }
  | { id: number; op: 'load'; files: string[] };

let received = 0;
const sink = createServer({ allowHalfOpen: true }, (s) => {
  s.on('data', (b: Buffer) => {
    received += b.length;
  });
  s.on('end', () => s.end());
  s.on('error', () => {});
});

/** Each channel: a 64-byte multifd init message with its id, then non-zero page data. */
function synthetic(port: number, perChannel: number, channels: number): Promise<number[]> {
  const block = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i += PAGE) block.fill((i / PAGE) & 0xff, i, i + PAGE).writeUInt32BE(i / PAGE, i);
  return Promise.all(
    Array.from({ length: channels }, (_, id) =>
      connection(port, async (s) => {
        const first = Buffer.from(block);
        first.fill(0, 0, 64);
        first.set([0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1]);
        first[24] = id;
        let sent = 0;
        while (sent < perChannel) {
          const n = Math.min(CHUNK, perChannel - sent);
          await write(s, (sent === 0 ? first : block).subarray(0, n));
          sent += n;
        }
        return sent;
      }),
    ),
  );
}

/**
 * The real files, read once and then sent from memory: a QEMU source sends from guest RAM, and
 * reading 1 GiB from the page cache again on each run would charge the shared cores with work no
 * migration does (it cost ~0.25 s/GiB of machine CPU here, a quarter of a blind relay's).
 */
const held = new Map<string, Buffer>();
function sendHeld(port: number, path: string): Promise<number> {
  let bytes = held.get(path);
  if (!bytes) held.set(path, (bytes = readFileSync(path)));
  const all = bytes;
  return connection(port, async (s) => {
    for (let at = 0; at < all.length; at += CHUNK) await write(s, all.subarray(at, Math.min(all.length, at + CHUNK)));
    return all.length;
  });
}
const files = (port: number, paths: string[]): Promise<number[]> => Promise.all(paths.map((path) => sendHeld(port, path)));

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

process.on('message', (m: Request) => {
  const reply = (bytes: number): void => void process.send!({ id: m.id, bytes });
  if (m.op === 'received') return reply(received);
  if (m.op === 'load') return reply(sum(m.files.map((f) => held.get(f)?.length ?? held.set(f, readFileSync(f)).get(f)!.length)));
  const run = m.op === 'synthetic' ? synthetic(m.port, m.perChannel, m.channels) : files(m.port, m.files);
  run.then(
    (sent) => reply(sum(sent)),
    (e: unknown) => void process.send!({ id: m.id, error: String(e) }),
  );
});
process.on('disconnect', () => process.exit(0));

sink.listen(0, LOOPBACK, () => process.send!({ type: 'ready', sinkPort: (sink.address() as AddressInfo).port }));
