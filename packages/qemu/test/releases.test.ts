/**
 * Discovery and the command line without running QEMU: a release missing from its install
 * location is null with a message naming where it looked; 11.1 runs through its root's loader.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Discovery reads the locations when the module loads: point 11.1 at an empty folder first.
const empty = mkdtempSync(join(tmpdir(), 'mwq-none-'));
process.env['MIGWIRE_QEMU111_DIR'] = empty;
const { isQemuVersion, missingQemuMessage, qemuBinary, makeBootDisk, QEMU_RELEASES } = await import('../src/index.js');
const { prepareVmFiles, qemuArgs } = await import('../src/command-line.js');
test.after.always(() => rmSync(empty, { recursive: true, force: true }));

test('releases are asked for by name; an unknown name is not a release', (t) => {
  t.deepEqual([...QEMU_RELEASES], ['7.2', '10.0', '11.1']);
  for (const v of ['7.2', '10.0', '11.1']) t.true(isQemuVersion(v));
  for (const v of ['10', '9.2', '', 11.1]) t.false(isQemuVersion(v));
});

test('a release missing from its location is null, and the message says where to look and how to install', (t) => {
  t.is(qemuBinary('11.1'), null);
  const msg = missingQemuMessage('11.1');
  t.true(msg.includes(empty));
  t.true(msg.includes('.ci/install-qemu.sh'));
});

test('the command line: the release prefix (loader, binary, -L) first, then TCG, no devices, serial file, QMP socket', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mwq-cl-'));
  try {
    const files = prepareVmFiles(dir, 'dst', makeBootDisk({ startMiB: 1, endMiB: 5 }));
    t.is(files.marker, 0x42);
    t.is(readFileSync(files.serialPath, 'utf8'), '');
    const binary = {
      version: '11.1' as const, bin: '/r/lib64/ld-linux-x86-64.so.2', executable: '/r/usr/bin/qemu-system-x86_64',
      env: {}, extraArgs: ['--library-path', '/r/usr/lib/x86_64-linux-gnu', '/r/usr/bin/qemu-system-x86_64', '-L', '/r/usr/share/qemu'],
      versionString: 'QEMU emulator version 11.1.3', defaultMachine: 'q35',
    };
    const args = qemuArgs(binary, files, { name: 'mw-dst', machine: 'q35', memMiB: 32, incoming: 'defer', paused: true, extraArgs: ['-x'] });
    t.deepEqual(args.slice(0, 5), binary.extraArgs);
    t.deepEqual(args.slice(args.indexOf('-accel'), args.indexOf('-accel') + 2), ['-accel', 'tcg']);
    t.true(args.includes('-nodefaults'));
    t.true(args.includes(`file:${files.serialPath}`));
    t.true(args.includes(`unix:${files.qmpPath},server=on,wait=off`));
    t.deepEqual(args.slice(-4), ['-incoming', 'defer', '-S', '-x']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
