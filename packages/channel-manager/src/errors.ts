import type { ChannelRole } from '@migwire/stream-codec';

/** Connection-level problems, each with a stable code and the channel it concerns. */
export const ChannelErrorCode = {
  UnknownMagic: 'UNKNOWN_MAGIC',
  TooManyChannels: 'TOO_MANY_CHANNELS',
  DuplicateChannelId: 'DUPLICATE_CHANNEL_ID',
  DuplicateMain: 'DUPLICATE_MAIN',
  TlsHandshakeFailed: 'TLS_HANDSHAKE_FAILED',
  ConnectFailed: 'CONNECT_FAILED',
} as const;
export type ChannelErrorCode = (typeof ChannelErrorCode)[keyof typeof ChannelErrorCode];

/** Where in the channel the problem is, when known. */
export interface ChannelErrorPlace {
  /** Role the connection's first bytes claimed. */
  role?: ChannelRole;
  /** Byte offset in the connection's source-to-destination stream of the bytes at fault. */
  offset?: number;
}

export class ChannelError extends Error {
  readonly role: ChannelRole | undefined;
  readonly offset: number | undefined;

  constructor(
    readonly code: ChannelErrorCode,
    /** Accept-order index of the connection (0 = first). */
    readonly connection: number,
    message: string,
    place: ChannelErrorPlace = {},
  ) {
    super(`${message} (${code}) on connection ${connection}`);
    this.name = 'ChannelError';
    this.role = place.role;
    this.offset = place.offset;
  }
}
