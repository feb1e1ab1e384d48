import test from 'ava';
import { LinkType } from '../src/index.js';
import { collect, records } from './helpers/collect.js';
import { Conversation } from './helpers/conversation.js';
import { ethernet, ipPacket, loopback, pattern, sll, sll2 } from './helpers/frames.js';
import { chunked, writePcap } from './helpers/writers.js';

const v4 = { c: '10.0.0.1', s: '10.0.0.2' };
const v6 = { c: 'fd00::1', s: 'fd00:0:0:2::2' };
const up = pattern(3000, 7);
const down = pattern(1200, 8);

function conversation(addr: { c: string; s: string }, ipOptions = false): Uint8Array[] {
  const conv = new Conversation({ addr: addr.c, port: 40000, isn: 1000 }, { addr: addr.s, port: 4444, isn: 9000 });
  conv.handshake();
  conv.data('c', 0, up.subarray(0, 1400), { ipOptions });
  conv.data('s', 0, down, { ipOptions });
  conv.data('c', 1400, up.subarray(1400), { ipOptions });
  return conv.packets;
}

const cases: [string, number, (ip: Uint8Array) => Uint8Array][] = [
  ['Ethernet', LinkType.Ethernet, (ip) => ethernet(ip)],
  ['Ethernet with an 802.1Q tag', LinkType.Ethernet, (ip) => ethernet(ip, [0x8100])],
  ['Ethernet with 802.1ad + 802.1Q tags', LinkType.Ethernet, (ip) => ethernet(ip, [0x88a8, 0x8100])],
  ['Linux cooked v1', LinkType.LinuxSll, sll],
  ['Linux cooked v2', LinkType.LinuxSll2, sll2],
  ['raw IP (101)', LinkType.Raw, (ip) => ip],
  ['BSD NULL', LinkType.Null, (ip) => loopback(ip, false)],
  ['BSD LOOP', LinkType.Loop, (ip) => loopback(ip, true)],
];

for (const [name, linkType, wrap] of cases) {
  for (const [family, addr] of [['IPv4', v4], ['IPv6', v6]] as const) {
    test(`${name}, ${family}: both directions reassemble`, async (t) => {
      const file = writePcap(records(conversation(addr), wrap), { linkType });
      const { bytes, all } = await collect(chunked(file, 333));
      t.deepEqual(bytes.get('0a'), up);
      t.deepEqual(bytes.get('0b'), down);
      const conn = all.find((e) => e.kind === 'connection');
      t.like(conn, { connection: { a: { address: addr.c, port: 40000 }, b: { address: addr.s, port: 4444 }, synSeen: true } });
    });
  }
}

test('raw IPv4 (228) with IP options and raw IPv6 (229) with a hop-by-hop extension header', async (t) => {
  for (const [linkType, addr] of [[LinkType.Ipv4, v4], [LinkType.Ipv6, v6]] as const) {
    const { bytes } = await collect(chunked(writePcap(records(conversation(addr, true)), { linkType })));
    t.deepEqual(bytes.get('0a'), up);
    t.deepEqual(bytes.get('0b'), down);
  }
});

test('IPv6 addresses print in RFC 5952 form', async (t) => {
  const { all } = await collect(chunked(writePcap(records(conversation({ c: 'fd00::1', s: 'fd00::2:0:0:0:2' })), { linkType: LinkType.Raw })));
  t.like(all.find((e) => e.kind === 'connection'), { connection: { b: { address: 'fd00:0:0:2::2' } } });
});

test('Ethernet padding after a short IP packet is not stream data', async (t) => {
  const ack = ipPacket({ src: v4.c, dst: v4.s, sport: 1, dport: 2, seq: 5, payload: Uint8Array.of(42) });
  const padded = new Uint8Array([...ethernet(ack), 0, 0, 0, 0, 0]);
  const { bytes } = await collect(chunked(writePcap([{ sec: 1, frac: 0, data: padded }])));
  t.deepEqual(bytes.get('0a'), Uint8Array.of(42));
});

test('UDP, ARP, fragments and unknown link types are counted, not silently dropped', async (t) => {
  const udp = ipPacket({ src: v4.c, dst: v4.s, sport: 1, dport: 2, seq: 0 });
  udp[9] = 17;
  const frag = ipPacket({ src: v4.c, dst: v4.s, sport: 1, dport: 2, seq: 0 });
  frag[6] = 0x20; // more fragments
  const arp = ethernet(new Uint8Array(28));
  arp[12] = 0x08;
  arp[13] = 0x06;
  const file = writePcap([udp, frag, udp].map((data, i) => ({ sec: i, frac: 0, data: ethernet(data) })).concat([{ sec: 3, frac: 0, data: arp }]));
  const { all } = await collect(chunked(file));
  t.like(all.at(-1), {
    kind: 'summary',
    packets: 4,
    skipped: { 'not-tcp': { packets: 2, firstPacket: 1 }, 'ip-fragment': { packets: 1, firstPacket: 2 }, 'not-ip': { packets: 1, firstPacket: 4 } },
  });
  const other = await collect(chunked(writePcap([{ sec: 0, frac: 0, data: udp }], { linkType: 147 })));
  t.like(other.all.at(-1), { skipped: { 'unsupported-link-type': { packets: 1 } } });
});
