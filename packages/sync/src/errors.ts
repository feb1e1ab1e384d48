/** Stable error codes: callers and tests match on these, never on messages. */
export const SyncErrorCode = {
  /** Source: a multifd page was offered after postcopy began (it must go on main or preempt). */
  MultifdInPostcopy: 'MULTIFD_IN_POSTCOPY',
  /** Destination: a multifd packet carried pages after POSTCOPY_LISTEN/RUN. */
  MultifdAfterPostcopy: 'MULTIFD_AFTER_POSTCOPY',
  /** A channel id outside 0..channels-1. */
  UnknownChannel: 'UNKNOWN_CHANNEL',
  /** A call that the barrier or gate cannot take in its current state. */
  InvalidState: 'INVALID_STATE',
  /** A number that cannot be a byte count, bandwidth or limit (negative, NaN, ...). */
  InvalidArgument: 'INVALID_ARGUMENT',
  /** A device the switchover gate or readiness tracker was not told about. */
  UnknownDevice: 'UNKNOWN_DEVICE',
  /** DEV_INIT_DATA_SENT for a device the destination does not count: QEMU's destination fails the load. */
  UnexpectedInitDataSent: 'UNEXPECTED_INIT_DATA_SENT',
  /** A second DEV_INIT_DATA_SENT for one device: the destination's counter is one-shot. */
  DuplicateInitDataSent: 'DUPLICATE_INIT_DATA_SENT',
  /** SWITCHOVER_ACK while devices still had initial data to load, or with the capability off on the destination. */
  PrematureSwitchoverAck: 'PREMATURE_SWITCHOVER_ACK',
  /** A second SWITCHOVER_ACK: the destination sends it once. */
  DuplicateSwitchoverAck: 'DUPLICATE_SWITCHOVER_ACK',
  /** PRECOPY_INFO initial_bytes grew without the REINIT flag (it may only decrease). */
  InitialBytesGrew: 'INITIAL_BYTES_GREW',
} as const;
export type SyncErrorCode = (typeof SyncErrorCode)[keyof typeof SyncErrorCode];

export interface SyncErrorDetails {
  code: SyncErrorCode;
  message: string;
  /** Channel name in the codec's style ("main", "multifd 2"), when one applies. */
  channel?: string;
  /** Absolute byte offset in that channel, when known. */
  offset?: number;
  /** Multifd packet number, when the problem is a packet. */
  packetNum?: number;
  /** Device idstr, when the problem is a device. */
  device?: string;
  expected?: string;
  found?: string;
}

/** Every rule violation in this package: what (code), where (channel, offset, packet, device), expected vs found. */
export class SyncError extends Error {
  readonly code: SyncErrorCode;
  readonly channel: string | undefined;
  readonly offset: number | undefined;
  readonly packetNum: number | undefined;
  readonly device: string | undefined;
  readonly expected: string | undefined;
  readonly found: string | undefined;

  constructor(d: SyncErrorDetails) {
    const where: string[] = [];
    if (d.channel !== undefined) where.push(`on ${d.channel}`);
    if (d.packetNum !== undefined) where.push(`packet ${d.packetNum}`);
    if (d.offset !== undefined) where.push(`at byte ${d.offset}`);
    if (d.device !== undefined) where.push(`device "${d.device}"`);
    const parts = [[`${d.message} (${d.code})`, ...where].join(' ')];
    if (d.expected !== undefined) parts.push(`expected ${d.expected}`);
    if (d.found !== undefined) parts.push(`found ${d.found}`);
    super(parts.join('; '));
    this.name = 'SyncError';
    this.code = d.code;
    this.channel = d.channel;
    this.offset = d.offset;
    this.packetNum = d.packetNum;
    this.device = d.device;
    this.expected = d.expected;
    this.found = d.found;
  }

  toJSON(): SyncErrorDetails {
    const out: SyncErrorDetails = { code: this.code, message: this.message };
    if (this.channel !== undefined) out.channel = this.channel;
    if (this.offset !== undefined) out.offset = this.offset;
    if (this.packetNum !== undefined) out.packetNum = this.packetNum;
    if (this.device !== undefined) out.device = this.device;
    if (this.expected !== undefined) out.expected = this.expected;
    if (this.found !== undefined) out.found = this.found;
    return out;
  }
}

export function isSyncError(e: unknown): e is SyncError {
  return e instanceof SyncError;
}

/** Codec-style channel name for a multifd channel id (the id from its init message). */
export function multifdChannelName(id: number): string {
  return `multifd ${id}`;
}

/** Shared check for channel ids so every module reports them the same way. */
export function assertChannelId(channel: number, channels: number): void {
  if (!Number.isInteger(channel) || channel < 0 || channel >= channels) {
    throw new SyncError({
      code: SyncErrorCode.UnknownChannel,
      message: 'no such multifd channel',
      channel: multifdChannelName(channel),
      expected: `an id in 0..${channels - 1}`,
      found: String(channel),
    });
  }
}

/** Shared check for byte counts, rates and limits. */
export function assertNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new SyncError({
      code: SyncErrorCode.InvalidArgument,
      message: `${name} must be a finite number >= 0`,
      expected: 'a finite number >= 0',
      found: String(value),
    });
  }
}
