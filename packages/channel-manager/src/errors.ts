/** Connection-level problems, each with a stable code and the connection it concerns. */
export const ChannelErrorCode = {
  UnknownMagic: 'UNKNOWN_MAGIC',
  TooManyChannels: 'TOO_MANY_CHANNELS',
  DuplicateChannelId: 'DUPLICATE_CHANNEL_ID',
  DuplicateMain: 'DUPLICATE_MAIN',
  TlsHandshakeFailed: 'TLS_HANDSHAKE_FAILED',
  ConnectFailed: 'CONNECT_FAILED',
} as const;
export type ChannelErrorCode = (typeof ChannelErrorCode)[keyof typeof ChannelErrorCode];

export class ChannelError extends Error {
  constructor(
    readonly code: ChannelErrorCode,
    /** Accept-order index of the connection (0 = first). */
    readonly connection: number,
    message: string,
  ) {
    super(`${message} (${code}) on connection ${connection}`);
    this.name = 'ChannelError';
  }
}
