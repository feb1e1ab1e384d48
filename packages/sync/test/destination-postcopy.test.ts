import test from 'ava';
import type { MainRecord, MultifdRamPacketRecord } from '@migwire/stream-codec';
import { MultifdPostcopyAssertion, SyncError, SyncErrorCode } from '../src/index.js';

function packet(over: Partial<MultifdRamPacketRecord>): MultifdRamPacketRecord {
  return {
    kind: 'multifd-packet', offset: 0, length: 1344, layout: '10.0', magic: 0x11223344, version: 1, flags: 0, sync: false,
    compression: 'none', pagesAlloc: 128, normalPages: 0, zeroPages: 0, nextPacketSize: 0, packetNum: 0, block: 'pc.ram',
    normalOffsets: [], zeroOffsets: [], raw: { reserved: new Uint8Array(32), ramblock: new Uint8Array(256), offsets: new Uint8Array(1024) },
    payload: new Uint8Array(0), ...over,
  };
}

const NAMES = { 3: 'POSTCOPY_ADVISE', 4: 'POSTCOPY_LISTEN', 5: 'POSTCOPY_RUN' } as const;

function command(command: 3 | 4 | 5, depth = 1): MainRecord {
  const name = NAMES[command];
  const args = name === 'POSTCOPY_ADVISE' ? { command: name } : { command: name };
  return { kind: 'command', offset: 900, length: 5, depth, command, name, payload: new Uint8Array(0), args };
}

test('multifd pages before postcopy pass', (t) => {
  const a = new MultifdPostcopyAssertion();
  t.notThrows(() => a.checkPacket(0, packet({ normalPages: 3 })));
  t.is(a.phase, 'precopy');
});

test('a multifd page after POSTCOPY_LISTEN throws MULTIFD_AFTER_POSTCOPY naming channel, packet number and byte offset', (t) => {
  const a = new MultifdPostcopyAssertion();
  a.observeMain(command(4)); // inside PACKAGED: depth 1
  t.is(a.phase, 'postcopy-listen');
  const err = t.throws(() => a.checkPacket(2, packet({ normalPages: 1, packetNum: 41, offset: 123456 })), { instanceOf: SyncError });
  t.is(err?.code, SyncErrorCode.MultifdAfterPostcopy);
  t.is(err?.channel, 'multifd 2');
  t.is(err?.packetNum, 41);
  t.is(err?.offset, 123456);
  t.regex(err?.message ?? '', /multifd 2 packet 41 at byte 123456/);
});

test('zero pages count as pages after POSTCOPY_RUN; an empty SYNC packet does not', (t) => {
  const a = new MultifdPostcopyAssertion();
  a.observeMain(command(5));
  t.is(a.phase, 'postcopy-run');
  t.notThrows(() => a.checkPacket(0, packet({ sync: true, flags: 1 })));
  t.throws(() => a.checkPacket(0, packet({ zeroPages: 2 })), { message: /MULTIFD_AFTER_POSTCOPY/ });
});

test('other main records do not start postcopy', (t) => {
  const a = new MultifdPostcopyAssertion();
  a.observeMain(command(3, 0)); // ADVISE
  a.observeMain({ kind: 'eof', offset: 0, length: 1, depth: 0 });
  t.is(a.phase, 'precopy');
});
