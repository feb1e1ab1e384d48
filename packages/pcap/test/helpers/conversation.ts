/**
 * A scripted TCP conversation: segments addressed by stream offset, turned into IP packets with
 * sequence numbers from an initial sequence number (so wrap-around is one ISN away).
 */
import { ACK, FIN, SYN, ipPacket, type TcpSpec } from './frames.js';

export interface Peer {
  addr: string;
  port: number;
  isn: number;
}

export class Conversation {
  readonly packets: Uint8Array[] = [];
  constructor(
    readonly client: Peer,
    readonly server: Peer,
  ) {}

  private spec(from: 'c' | 's', seq: number, flags: number, payload?: Uint8Array): TcpSpec {
    const [a, b] = from === 'c' ? [this.client, this.server] : [this.server, this.client];
    // Acknowledges only the peer's SYN: tests that need acknowledgements add them explicitly.
    const ack = (b.isn + 1) >>> 0;
    return { src: a.addr, dst: b.addr, sport: a.port, dport: b.port, seq: seq >>> 0, ack, flags, ...(payload ? { payload } : {}) };
  }

  handshake(): this {
    this.packets.push(ipPacket(this.spec('c', this.client.isn, SYN)));
    this.packets.push(ipPacket(this.spec('s', this.server.isn, SYN | ACK)));
    this.packets.push(ipPacket(this.spec('c', this.client.isn + 1, ACK)));
    return this;
  }

  /** Payload at stream `offset` (0 = first byte after the SYN). */
  data(from: 'c' | 's', offset: number, payload: Uint8Array, extra?: Partial<TcpSpec>): this {
    const peer = from === 'c' ? this.client : this.server;
    this.packets.push(ipPacket({ ...this.spec(from, peer.isn + 1 + offset, ACK, payload), ...extra }));
    return this;
  }

  /** A bare ACK from `from` acknowledging the peer's stream up to `offset`. */
  ackTo(from: 'c' | 's', ownOffset: number, offset: number): this {
    const [self, peer] = from === 'c' ? [this.client, this.server] : [this.server, this.client];
    this.packets.push(ipPacket({ ...this.spec(from, self.isn + 1 + ownOffset, ACK), ack: (peer.isn + 1 + offset) >>> 0 }));
    return this;
  }

  fin(from: 'c' | 's', offset: number): this {
    const peer = from === 'c' ? this.client : this.server;
    this.packets.push(ipPacket(this.spec(from, peer.isn + 1 + offset, FIN | ACK)));
    return this;
  }
}
