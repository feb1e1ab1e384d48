/**
 * identifyChannel: the MSG_PEEK decision QEMU's destination makes on a connection's first bytes,
 * for every role it can name, with first bytes split at every length, and once the peer ended.
 * (Moved here with identification from channel-manager's identifyFirstBytes tests.)
 */
import test from 'ava';
import { IDENTIFY_BYTES, MultifdPacketBuilder, identifyChannel, isChannelRole, isEncryptedRole, type ChannelIdentity } from '../src/index.js';

/** The main channel's opening: "QEVM" then be32 version 3. */
const QEVM = Buffer.from('QEVM\0\0\0\x03', 'latin1');

/** A multifd channel's 64-byte init message (its id at byte 24), as the packet builder writes it. */
function multifdInit(id: number): Buffer {
  const uuid = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
  return Buffer.concat(new MultifdPacketBuilder({ layout: '10.0', compression: 'none' }).init(id, uuid));
}

/** A postcopy-preempt opening: a RAM page record (be64 offset | PAGE), len-prefixed block idstr. */
const PREEMPT_PAGE = Buffer.concat([Buffer.from([0, 0, 0, 0, 0x12, 0x34, 0x50, 0x08, 6]), Buffer.from('pc.ram')]);
/** A continued page (no idstr). */
const PREEMPT_CONTINUE = Buffer.from([0, 0, 0, 0, 0x12, 0x34, 0x50, 0x28, 0xee, 0xee]);
/** A bare page header without a block name, as an unknown protocol. */
const PAGE_HEADER = Buffer.from([0, 0, 0, 0, 0x12, 0x34, 0x50, 0x08]);
const TLS_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]);

test('QEVM is the main channel (4 bytes are enough)', (t) => {
  t.deepEqual(identifyChannel(QEVM.subarray(0, 4)), { role: 'main' });
  t.deepEqual(identifyChannel(QEVM), { role: 'main' });
});

test('the multifd magic with the channel id at byte 24', (t) => {
  for (const id of [0, 1, 7, 255]) t.deepEqual(identifyChannel(multifdInit(id)), { role: 'multifd', multifdId: id });
  t.is(IDENTIFY_BYTES, 25);
  t.deepEqual(identifyChannel(multifdInit(3).subarray(0, 25)), { role: 'multifd', multifdId: 3 });
});

test('a TLS handshake (0x16 0x03) is known from two bytes, and is encrypted', (t) => {
  t.deepEqual(identifyChannel(TLS_HELLO.subarray(0, 2)), { role: 'tls' });
  t.deepEqual(identifyChannel(TLS_HELLO), { role: 'tls' });
  t.true(isEncryptedRole('tls'));
  t.false(isEncryptedRole('main'));
});

test('headerless RAM page records are the postcopy-preempt channel, unless preempt is off', (t) => {
  t.deepEqual(identifyChannel(PREEMPT_PAGE), { role: 'postcopy-preempt' });
  t.deepEqual(identifyChannel(PREEMPT_CONTINUE), { role: 'postcopy-preempt' });
  t.deepEqual(identifyChannel(PREEMPT_PAGE, { postcopyPreempt: false }), { role: 'other' });
});

test('anything else is other', (t) => {
  t.deepEqual(identifyChannel(Buffer.from('GET / HTTP/1.1\r\n')), { role: 'other' });
  t.deepEqual(identifyChannel(PAGE_HEADER, { postcopyPreempt: false }), { role: 'other' });
  // 0x16 followed by something other than 0x03 is not TLS.
  t.deepEqual(identifyChannel(Buffer.from([0x16, 0x01, 0, 0]), { postcopyPreempt: false }), { role: 'other' });
});

test('no bytes at all from a peer that ended is empty', (t) => {
  t.deepEqual(identifyChannel(Buffer.alloc(0), { ended: true }), { role: 'empty' });
});

test('undefined while more bytes are needed, a best guess once the peer has ended', (t) => {
  t.is(identifyChannel(Buffer.alloc(0)), undefined);
  t.is(identifyChannel(Buffer.from([0x16])), undefined);
  t.is(identifyChannel(QEVM.subarray(0, 3)), undefined);
  // The multifd magic needs byte 24 for the id.
  t.is(identifyChannel(multifdInit(2).subarray(0, 4)), undefined);
  t.is(identifyChannel(multifdInit(2).subarray(0, 24)), undefined);
  // Ended: no more bytes will come.
  t.deepEqual(identifyChannel(QEVM.subarray(0, 3), { ended: true }), { role: 'other' });
  t.deepEqual(identifyChannel(Buffer.from([0x16]), { ended: true }), { role: 'other' });
  t.deepEqual(identifyChannel(multifdInit(2).subarray(0, 24), { ended: true }), { role: 'multifd' });
});

test('first bytes arriving split at any length: undefined until decidable, then the answer of the whole', (t) => {
  const cases: Array<[Buffer, ChannelIdentity]> = [
    [QEVM, { role: 'main' }],
    [multifdInit(5), { role: 'multifd', multifdId: 5 }],
    [TLS_HELLO, { role: 'tls' }],
    [PREEMPT_PAGE, { role: 'postcopy-preempt' }],
    [Buffer.from('GET / HTTP/1.1\r\n'), { role: 'other' }],
  ];
  for (const [bytes, want] of cases) {
    let decided: ChannelIdentity | undefined;
    let at = 0;
    for (let n = 0; n <= bytes.length && !decided; n++) {
      decided = identifyChannel(bytes.subarray(0, n));
      at = n;
    }
    t.deepEqual(decided, want, bytes.toString('hex'));
    t.true(at <= IDENTIFY_BYTES, `decided within IDENTIFY_BYTES (${at})`);
    // Once decided, more bytes never change the answer.
    for (let n = at; n <= bytes.length; n++) t.deepEqual(identifyChannel(bytes.subarray(0, n)), want);
  }
});

test('every role identifyChannel returns is a ChannelRole', (t) => {
  for (const b of [QEVM, multifdInit(0), TLS_HELLO, PREEMPT_PAGE, Buffer.from('xyzw'), Buffer.alloc(0)]) {
    t.true(isChannelRole(identifyChannel(b, { ended: true })?.role));
  }
});
