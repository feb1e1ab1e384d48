/**
 * What a migration connection (or one direction of it) is. One type for the whole toolkit:
 * the proxy, the capture reader, the checker and the CLI all name channels with it.
 *
 * - `main`: the source's main stream (starts with "QEVM").
 * - `return-path`: the destination's replies on the main connection.
 * - `multifd`: a multifd channel (starts with the 0x11223344 init message; id at byte 24).
 * - `postcopy-preempt`: the postcopy-preempt channel (no header: bare RAM page records).
 * - `main-recovery`: a headerless connection that replaces a closed main (postcopy recovery).
 * - `main(tls)` / `multifd(tls)`: TLS channels, named by arrival order as QEMU does.
 * - `tls`: a TLS channel whose place in the order is not known.
 * - `empty`: no bytes at all. `other`: bytes that open no known channel.
 */
export type ChannelRole =
  | 'main'
  | 'return-path'
  | 'multifd'
  | 'postcopy-preempt'
  | 'main-recovery'
  | 'main(tls)'
  | 'multifd(tls)'
  | 'tls'
  | 'empty'
  | 'other';

export const CHANNEL_ROLES: readonly ChannelRole[] = [
  'main',
  'return-path',
  'multifd',
  'postcopy-preempt',
  'main-recovery',
  'main(tls)',
  'multifd(tls)',
  'tls',
  'empty',
  'other',
];

export function isChannelRole(value: unknown): value is ChannelRole {
  return typeof value === 'string' && (CHANNEL_ROLES as readonly string[]).includes(value);
}

/** Roles whose bytes are encrypted and cannot be decoded without the session keys. */
export function isEncryptedRole(role: ChannelRole): boolean {
  return role === 'tls' || role === 'main(tls)' || role === 'multifd(tls)';
}

/** A channel's identity as far as its first bytes tell. */
export interface ChannelIdentity {
  role: ChannelRole;
  /** Multifd channel id from the init message (byte 24). */
  multifdId?: number;
}
