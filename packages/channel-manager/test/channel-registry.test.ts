/**
 * ChannelRegistry: how QEMU's destination names channels (roles by magic, id and position) and the
 * typed errors for what QEMU refuses. Identification from first bytes is the codec's
 * identifyChannel, tested there.
 */
import test from 'ava';
import { ChannelError, ChannelErrorCode, ChannelRegistry } from '../src/index.js';
import type { ChannelIdentity } from '@migwire/stream-codec';

const MAIN: ChannelIdentity = { role: 'main' };
const OTHER: ChannelIdentity = { role: 'other' };
const TLS: ChannelIdentity = { role: 'tls' };
const mf = (id: number): ChannelIdentity => ({ role: 'multifd', multifdId: id });

function channelErrorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof ChannelError ? e.code : `not a ChannelError: ${String(e)}`;
  }
  return undefined;
}

test('registry: main and N multifd channels by id, then allEstablished', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 3 });
  t.false(r.allEstablished);
  t.deepEqual(r.assign(0, MAIN), { connection: 0, role: 'main' });
  t.false(r.allEstablished);
  t.deepEqual(r.assign(1, mf(2)), { connection: 1, role: 'multifd', multifdId: 2 });
  t.deepEqual(r.assign(2, mf(0)), { connection: 2, role: 'multifd', multifdId: 0 });
  t.false(r.allEstablished);
  t.deepEqual(r.assign(3, mf(1)), { connection: 3, role: 'multifd', multifdId: 1 });
  t.true(r.allEstablished);
  t.deepEqual(
    r.assigned.map((a) => a.role),
    ['main', 'multifd', 'multifd', 'multifd'],
  );
});

test('registry: multifd channels before main do not make the set established', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 2 });
  r.assign(0, mf(0));
  r.assign(1, mf(1));
  t.false(r.allEstablished);
  r.assign(2, MAIN);
  t.true(r.allEstablished);
});

test('registry: without a layout, main alone is established', (t) => {
  const r = new ChannelRegistry();
  r.assign(0, MAIN);
  t.true(r.allEstablished);
});

test('registry: the next headerless connection after main and every multifd channel is postcopy-preempt', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 2, postcopyPreempt: true });
  r.assign(0, MAIN);
  r.assign(1, mf(1));
  r.assign(2, mf(0));
  t.deepEqual(r.assign(3, OTHER), { connection: 3, role: 'postcopy-preempt' });
  // Only one preempt channel: a further headerless connection is just "other".
  t.is(r.assign(4, OTHER).role, 'other');
});

test('registry: postcopy-preempt without multifd is the first headerless connection after main', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 0 });
  r.assign(0, MAIN);
  t.is(r.assign(1, OTHER).role, 'postcopy-preempt');
});

test('registry: a headerless connection after main closed is main-recovery', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 0 });
  r.assign(0, MAIN);
  r.assign(1, OTHER); // preempt
  r.mainClosed();
  t.deepEqual(r.assign(2, OTHER), { connection: 2, role: 'main-recovery' });
});

test('registry: a connection that sent nothing at all is empty', (t) => {
  const r = new ChannelRegistry();
  t.deepEqual(r.assign(0, undefined), { connection: 0, role: 'empty' });
});

test('registry: TLS channels are named by order: main(tls) then multifd(tls)', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 3 });
  t.deepEqual(
    [0, 1, 2, 3].map((i) => r.assign(i, TLS).role),
    ['main(tls)', 'multifd(tls)', 'multifd(tls)', 'multifd(tls)'],
  );
});

// BUG: a TLS multifd channel is never counted, so with multifdChannels set allEstablished stays
// false forever and MigrationAcceptor never emits 'established' for a TLS migration with multifd
// (nor is TOO_MANY_CHANNELS enforced for TLS). Fix: count 'multifd(tls)' assignments (a counter
// next to the id map) and use multifd.size + tlsMultifd in allEstablished / the too-many check.
test('registry: TLS main + every multifd(tls) channel is allEstablished', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 2 });
  r.assign(0, TLS);
  r.assign(1, TLS);
  r.assign(2, TLS);
  t.true(r.allEstablished);
});

test('registry: a duplicate multifd id is DUPLICATE_CHANNEL_ID on the second connection', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 4 });
  r.assign(0, MAIN);
  r.assign(1, mf(1));
  const e = t.throws(() => r.assign(2, mf(1)), { instanceOf: ChannelError });
  t.is(e?.code, ChannelErrorCode.DuplicateChannelId);
  t.is(e?.code, 'DUPLICATE_CHANNEL_ID');
  t.is(e?.connection, 2);
  t.is(e?.name, 'ChannelError');
  t.regex(e?.message ?? '', /DUPLICATE_CHANNEL_ID/);
  // Where: the multifd channel's id byte in its init message.
  t.is(e?.role, 'multifd');
  t.is(e?.offset, 24);
  // The refused connection is not recorded.
  t.is(r.assigned.length, 2);
});

test('registry: too many multifd channels (one more than configured, or an id out of range)', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 2 });
  r.assign(0, MAIN);
  r.assign(1, mf(0));
  t.is(channelErrorCode(() => r.assign(2, mf(5))), ChannelErrorCode.TooManyChannels);
  r.assign(3, mf(1));
  t.is(channelErrorCode(() => r.assign(4, mf(2))), ChannelErrorCode.TooManyChannels);
  const e = t.throws(() => r.assign(5, mf(0)), { instanceOf: ChannelError });
  t.is(e?.code, 'TOO_MANY_CHANNELS');
  t.is(e?.connection, 5);
});

test('registry: a second main while the first is open is DUPLICATE_MAIN; after it closed it is accepted', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 0 });
  r.assign(0, MAIN);
  const e = t.throws(() => r.assign(1, MAIN), { instanceOf: ChannelError });
  t.is(e?.code, 'DUPLICATE_MAIN');
  t.is(e?.connection, 1);
  t.is(e?.role, 'main');
  t.is(e?.offset, 0);
  r.mainClosed();
  t.is(r.assign(2, MAIN).role, 'main');
});

test('registry: an unknown magic before main is UNKNOWN_MAGIC', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 2 });
  const e = t.throws(() => r.assign(0, OTHER), { instanceOf: ChannelError });
  t.is(e?.code, 'UNKNOWN_MAGIC');
  t.is(e?.connection, 0);
});

test('registry: an unknown magic after main without postcopy-preempt is UNKNOWN_MAGIC', (t) => {
  const r = new ChannelRegistry({ multifdChannels: 0, postcopyPreempt: false });
  r.assign(0, MAIN);
  t.is(channelErrorCode(() => r.assign(1, OTHER)), 'UNKNOWN_MAGIC');
});
