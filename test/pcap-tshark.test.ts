/**
 * Our TCP reassembly against Wireshark's on the committed real capture (a QEMU 10.0 precopy
 * through a relay, tcpdump): every connection's both directions equal `tshark -z follow,tcp,raw`.
 * The real-QEMU captures of pcap-interop are compared the same way. Without tshark the test is
 * skipped, and fails under CI=true.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileSource, indexCapture } from '@migwire/pcap';
import { REPO_ROOT } from './harness/fixtures/generate.js';
import { QEMU_REQUIRED } from './harness/qemu.js';
import { haveCommand } from './harness/relay-capture.js';
import { differencesFromTshark } from './harness/tshark-follow.js';

const FILE = join(REPO_ROOT, 'fixtures', '10.0-precopy-pcap', 'capture.pcap.gz');
const tshark = haveCommand('tshark');

(tshark || QEMU_REQUIRED ? test : test.skip)('the committed real capture reassembles as tshark follow,tcp,raw does, every connection and direction', async (t) => {
  if (!tshark) return t.fail('tshark is needed (CI=true): run .ci/install-qemu.sh');
  const index = await indexCapture(fileSource(FILE)());
  t.true(index.migrations.length + index.ignored.length > 0);
  t.deepEqual(await differencesFromTshark(FILE, index), []);
  // The same file uncompressed: pass 1 leaves payloads unread and channels are read by position.
  const dir = mkdtempSync(join(tmpdir(), 'mw-pcap-tshark-'));
  try {
    const plain = join(dir, 'capture.pcap');
    writeFileSync(plain, gunzipSync(readFileSync(FILE)));
    const positional = await indexCapture(fileSource(plain)(), { extents: true });
    t.is(positional.extents?.size, 2 * (positional.migrations.flatMap((m) => m.connections).length + positional.ignored.length));
    t.deepEqual(await differencesFromTshark(plain, positional), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
