import test from 'ava';
import { CodecError, encodeMultifdRecord, encodeReturnPathRecord, MultifdDecoder, ReturnPathDecoder } from '../src/index.js';

const init = encodeMultifdRecord({ kind: 'multifd-init', magic: 0x11223344, version: 1, uuid: new Uint8Array(16), channelId: 2, reserved: new Uint8Array(39) });
const pong = encodeReturnPathRecord({ kind: 'rp-message', type: 2, name: 'PONG', payload: Uint8Array.of(0, 0, 0, 7), args: { message: 'PONG', value: 7 } });

test('a multifd decoder that failed refuses more input, and reset() gives one that decodes again', (t) => {
  const dec = new MultifdDecoder();
  const bad = Uint8Array.from(init);
  bad[4] = 9; // version
  t.throws(() => dec.write(bad, () => {}), { instanceOf: CodecError, message: /BAD_VERSION/ });
  t.throws(() => dec.write(init, () => {}), { instanceOf: CodecError });
  const fresh = dec.reset();
  const got: string[] = [];
  fresh.write(init, (r) => got.push(r.kind));
  fresh.end(() => {});
  t.deepEqual(got, ['multifd-init']);
  t.is(fresh.channelId, 2);
  t.is(fresh.pending, 0);
});

test('multifd and return-path decoders report the bytes they hold', (t) => {
  const dec = new MultifdDecoder();
  dec.write(init.subarray(0, 40), () => {});
  t.is(dec.pending, 40);
  const rp = new ReturnPathDecoder();
  rp.write(pong.subarray(0, 5), () => {});
  t.is(rp.pending, 5);
  rp.write(pong.subarray(5), () => {});
  t.is(rp.pending, 0);
});

test('a return-path decoder that failed can be reset and decodes a valid stream', (t) => {
  const rp = new ReturnPathDecoder({ channel: 'rp-test' });
  t.throws(() => rp.write(Uint8Array.of(0, 0x63, 0, 0), () => {}), { instanceOf: CodecError, message: /UNKNOWN_RP_MESSAGE/ });
  const fresh = rp.reset();
  t.is(fresh.channel, 'rp-test');
  let n = 0;
  fresh.write(pong, () => n++);
  fresh.end(() => {});
  t.is(n, 1);
});
