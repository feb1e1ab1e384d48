/**
 * Fault injection (issue 13): `record` (the RecordingProxy with the CLI's report) and `replay`
 * driven through a killed source, a reset, a stalled destination, a half-close and a full disk.
 * Every byte is accounted for: per direction, received = forwarded = written, or the shortfall is
 * in index.json and named in the report; what reached the destination is exactly what was
 * counted as forwarded, and the file holds exactly what was counted as written.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingProxy } from '@migwire/channel-manager';
import type { DirectionStats, TcpProxyIndex } from '@migwire/capture';
import { MemoryOutput, recordReport, replayCapture } from '../src/index.js';
import { destination, pushUntil, QEVM, source } from './helpers/record-cli.js';
import { smallTmpfs, unmount } from './helpers/tmpfs.js';

const MiB = 1024 * 1024;

interface Fault {
  name: string;
  /** What the destination does with a connection; it counts what it read in `got`. */
  dst(s: Socket, got: { n: number }): void;
  /** What the source does; resolves when it is done. */
  src(s: Socket): Promise<void>;
  /** Grace given to open connections at the end (a stall needs cutting). */
  graceMs: number;
}

const payload = Buffer.concat([QEVM, randomBytes(4 * MiB)]);
const reading = (s: Socket, got: { n: number }, then?: (n: number) => void): void => {
  s.on('data', (b: Buffer) => {
    got.n += b.length;
    then?.(got.n);
  });
  s.resume();
};
const sendAll = async (s: Socket): Promise<void> => {
  let i = 0;
  await pushUntil(s, payload.subarray(0, 64 * 1024), () => ++i > payload.length / (64 * 1024));
};

const FAULTS: Fault[] = [
  {
    name: 'source killed mid-stream (its kernel sends FIN)',
    dst: (s, got) => {
      reading(s, got);
      s.on('end', () => s.end());
    },
    src: async (s) => {
      let i = 0;
      await pushUntil(s, payload.subarray(0, 64 * 1024), () => ++i > 16);
      s.resetAndDestroy();
    },
    graceMs: 2000,
  },
  {
    name: 'destination resets mid-stream',
    dst: (s, got) => reading(s, got, (n) => n >= MiB && !s.destroyed && s.resetAndDestroy()),
    src: async (s) => {
      await sendAll(s);
      s.destroy();
    },
    graceMs: 2000,
  },
  {
    name: 'destination stalls (never reads)',
    dst: () => {},
    src: async (s) => {
      let i = 0;
      const pushing = pushUntil(s, payload.subarray(0, 64 * 1024), () => ++i > 64);
      await Promise.race([pushing, new Promise((r) => setTimeout(r, 500))]);
    },
    graceMs: 100,
  },
  {
    name: 'half-close: the source ends, the destination answers after',
    dst: (s, got) => {
      reading(s, got);
      s.on('end', () => s.end(Buffer.from('bye')));
    },
    src: async (s) => {
      await sendAll(s);
      s.end();
      s.resume();
      await once(s, 'end');
    },
    graceMs: 2000,
  },
];

/** The accounting every direction must satisfy, whatever the fault. */
function accounted(t: ExecutionContext, index: TcpProxyIndex, dir: string, reportText: string, atDestination: number): void {
  for (const c of index.connections) {
    for (const [label, d] of [['src->dst', c.directions.src2dst], ['dst->src', c.directions.dst2src]] as Array<[string, DirectionStats]>) {
      t.is(d.bytes_not_written, d.bytes_received - d.bytes_written, `${label}: shortfall on disk in index.json`);
      t.is(d.bytes_not_forwarded, d.bytes_received - d.bytes_sent, `${label}: shortfall forwarded in index.json`);
      const size = statSync(join(dir, d.file)).size;
      t.is(size, d.bytes_written, `${label}: the file holds what was counted as written`);
      if (d.recorded_equals_forwarded) t.true(d.bytes_received === d.bytes_sent && d.bytes_sent === d.bytes_written);
      else t.regex(reportText, new RegExp(`SHORTFALL: .*${label} received ${d.bytes_received}, forwarded ${d.bytes_sent}, written ${d.bytes_written}`), `${label}: shortfall named in the report`);
    }
    // What reached the destination is at most what the kernel took (a reset drops what was in flight).
    t.true(atDestination <= c.directions.src2dst.bytes_sent, `destination read ${atDestination}, forwarded ${c.directions.src2dst.bytes_sent}`);
  }
}

async function recordThrough(t: ExecutionContext, f: Fault, outDir: string): Promise<{ index: TcpProxyIndex; text: string; code: number; got: number }> {
  const got = { n: 0 };
  const dst = await destination((s) => f.dst(s, got));
  const proxy = new RecordingProxy({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: dst.port }, outDir });
  const { port } = await proxy.start();
  try {
    const s = await source(port);
    await f.src(s);
    await Promise.race([proxy.allClosed(), new Promise((r) => setTimeout(r, f.graceMs))]);
    const index = await proxy.close(f.graceMs);
    s.destroy();
    const out = new MemoryOutput();
    const code = recordReport(index, out);
    return { index, text: out.lines.join('\n'), code, got: got.n };
  } finally {
    dst.close();
  }
}

for (const f of FAULTS) {
  test(`record, ${f.name}: received = forwarded = written, or a named shortfall`, async (t) => {
    t.timeout(30_000);
    const dir = join(mkdtempSync(join(tmpdir(), 'mw-fi-')), 'cap');
    const { index, text, code, got } = await recordThrough(t, f, dir);
    accounted(t, index, dir, text, got);
    t.is(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).connection_count, 1);
    // A connection ended by EOF both ways is indistinguishable from a finished one (a killed
    // source whose kernel sends FIN); anything cut (reset, stall, refused write) exits 1.
    const clean = index.connections.every((c) => c.directions.src2dst.end_reason === 'eof' && c.directions.dst2src.end_reason === 'eof');
    t.is(code, clean ? 0 : 1, text);
    if (f.name.startsWith('half-close')) t.true(clean);
    if (f.name.includes('reset') || f.name.includes('stall')) t.false(clean);
  });
}

test.serial('record, disk full: the shortfall between forwarded and written is named, index.json parses', async (t) => {
  t.timeout(30_000);
  const mnt = smallTmpfs(t, '4m');
  if (!mnt) return;
  try {
    const dir = join(mnt, 'cap');
    const f: Fault = {
      name: 'disk full',
      dst: (s, got) => {
        reading(s, got);
        s.on('end', () => s.end());
      },
      src: async (s) => {
        await sendAll(s);
        s.destroy();
      },
      graceMs: 2000,
    };
    const { index, text, code, got } = await recordThrough(t, f, dir);
    accounted(t, index, dir, text, got);
    t.is(index.status, 'recording-failed');
    t.true((index.connections[0]!.directions.src2dst.bytes_not_written ?? 0) > 0);
    t.is(code, 1);
  } finally {
    unmount(mnt);
  }
});

/** A one-connection capture of `payload` to replay. */
/** Larger than loopback's socket buffers can absorb, so a destination that never reads leaves bytes stuck. */
const replayPayload = Buffer.concat([QEVM, randomBytes(16 * MiB)]);

function captureOfPayload(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mw-fi-cap-'));
  writeFileSync(join(dir, 'stream.bin'), replayPayload);
  return dir;
}

const REPLAY_FAULTS: Array<{ name: string; dst: (s: Socket, got: { n: number }) => void; ok: boolean }> = [
  { name: 'destination killed mid-stream', dst: (s, got) => reading(s, got, (n) => n >= MiB && !s.destroyed && s.destroy()), ok: false },
  { name: 'destination resets mid-stream', dst: (s, got) => reading(s, got, (n) => n >= MiB && !s.destroyed && s.resetAndDestroy()), ok: false },
  { name: 'destination stalls (never reads)', dst: () => {}, ok: false },
  { name: 'destination half-closes early', dst: (s, got) => reading(s, got, (n) => n >= MiB && s.end()), ok: false },
  {
    name: 'destination takes everything and closes',
    dst: (s, got) => {
      reading(s, got);
      s.on('end', () => s.end());
    },
    ok: true,
  },
];

for (const f of REPLAY_FAULTS) {
  test(`replay, ${f.name}: sent + stuck = handed over = recorded by --out; the destination read no more than sent`, async (t) => {
    t.timeout(30_000);
    const got = { n: 0 };
    const dst = await destination((s) => f.dst(s, got));
    const outDir = join(mkdtempSync(join(tmpdir(), 'mw-fi-out-')), 'out');
    try {
      const t0 = Date.now();
      const r = await replayCapture(captureOfPayload(), { target: { host: '127.0.0.1', port: dst.port }, outDir, timeoutMs: 1500, idleTimeoutMs: 300 });
      t.true(Date.now() - t0 < 6000, 'bounded by the timeout');
      t.is(r.ok, f.ok, r.reason ?? '');
      const c = r.connections[0]!;
      const index = JSON.parse(readFileSync(join(outDir, 'index.json'), 'utf8')) as TcpProxyIndex;
      const up = index.connections[0]!.directions.src2dst;
      t.is(c.bytesSent + c.bytesStuck, up.bytes_received, 'every byte handed to the socket is either taken or stuck');
      t.is(up.bytes_written, up.bytes_received, 'and recorded by --out');
      t.is(statSync(join(outDir, up.file)).size, up.bytes_received);
      t.true(got.n <= c.bytesSent, `destination read ${got.n}, sent ${c.bytesSent}`);
      if (f.ok) t.is(c.bytesSent, replayPayload.length);
    } finally {
      dst.close();
    }
  });
}
