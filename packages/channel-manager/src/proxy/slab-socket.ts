/**
 * An accepted TCP connection re-made as a socket that reads into our own slabs (read-slabs.ts).
 *
 * Node lets a socket read into a caller's buffer (`onread`), but only for sockets it is given
 * at construction; a server's accepted sockets are made without it. The accepted socket (still
 * paused: the server runs with pauseOnConnect) hands its handle to a new Socket made with
 * `onread`, the way Node's own cluster module passes handles, and the emptied shell is
 * destroyed (the server counts the connection as gone; the proxy keeps its own count).
 *
 * `_handle` is not a documented property: when it is not there, or the new socket cannot be
 * made, nothing has changed and the caller reads the accepted socket as before.
 */
import { Socket } from 'node:net';
import type { ReadSlabs, Slab } from './read-slabs.js';

/** Told of each read: `view` holds the bytes, in `slab`. */
export type SlabReadHandler = (view: Buffer, slab: Slab) => void;

export interface SlabSocket {
  socket: Socket;
  /** Where reads go; set before the socket is resumed. */
  onRead: SlabReadHandler;
  /** A hand-off of a view in `slab` is done with it. */
  release(slab: Slab): void;
}

interface StreamHandle {
  readStart(): number;
  readStop(): number;
}

export function adoptWithSlabReads(raw: Socket, slabs: ReadSlabs, allowHalfOpen: boolean): SlabSocket | undefined {
  const shell = raw as unknown as { _handle?: StreamHandle | null };
  const handle = shell._handle;
  if (!handle || typeof handle.readStart !== 'function' || !raw.isPaused()) return undefined;
  const adopted: SlabSocket = { socket: raw, onRead: () => {}, release: (slab) => slabs.release(slab) };
  let socket: Socket;
  try {
    socket = new Socket({
      handle,
      allowHalfOpen,
      readable: true,
      writable: true,
      pauseOnCreate: true,
      onread: {
        buffer: () => slabs.target(),
        callback: (n: number) => {
          const { view, slab } = slabs.took(n);
          adopted.onRead(view, slab);
        },
      },
    } as ConstructorParameters<typeof Socket>[0]);
  } catch {
    return undefined;
  }
  shell._handle = null;
  raw.destroy();
  adopted.socket = socket;
  return adopted;
}
