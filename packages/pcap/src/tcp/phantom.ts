/**
 * Stand-in payloads for pass 1 over a seekable file: in-order bytes nobody needs to look at are
 * left unread, and the reassembler is given a view of the right length over a shared buffer
 * instead. Anything that must compare them (a retransmission) reads the real bytes back by file
 * position.
 */
let shared = new Uint8Array(1 << 18);
/** Every buffer handed out (earlier ones stay recognisable after a growth). */
const buffers = new WeakSet<ArrayBufferLike>([shared.buffer]);

/** A stand-in of `length` bytes (their values mean nothing). */
export function phantom(length: number): Uint8Array {
  if (length > shared.length) {
    shared = new Uint8Array(Math.max(length, shared.length * 2));
    buffers.add(shared.buffer);
  }
  return shared.subarray(0, length);
}

export function isPhantom(bytes: Uint8Array): boolean {
  return buffers.has(bytes.buffer);
}
