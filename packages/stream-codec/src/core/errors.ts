import type { ChannelRole } from '../identify/channel-role.js';

/** Stable error codes: tools and tests match on these, never on messages. */
export const ErrorCode = {
  BadMagic: 'BAD_MAGIC',
  BadVersion: 'BAD_VERSION',
  UnknownRecordType: 'UNKNOWN_RECORD_TYPE',
  UnknownCommand: 'UNKNOWN_COMMAND',
  CommandLength: 'COMMAND_LENGTH',
  LimitExceeded: 'LIMIT_EXCEEDED',
  Truncated: 'TRUNCATED',
  FooterMismatch: 'FOOTER_MISMATCH',
  UnknownSection: 'UNKNOWN_SECTION',
  UnframedSection: 'UNFRAMED_SECTION',
  BadConfiguration: 'BAD_CONFIGURATION',
  UnknownRamFlags: 'UNKNOWN_RAM_FLAGS',
  UnknownRamBlock: 'UNKNOWN_RAM_BLOCK',
  RamOffsetBeyondBlock: 'RAM_OFFSET_BEYOND_BLOCK',
  RamMemSizeMismatch: 'RAM_MEM_SIZE_MISMATCH',
  BadXbzrle: 'BAD_XBZRLE',
  BadMappedRam: 'BAD_MAPPED_RAM',
  BadVmdesc: 'BAD_VMDESC',
  PackageOverrun: 'PACKAGE_OVERRUN',
  ValueOutOfRange: 'VALUE_OUT_OF_RANGE',
  UnknownReturnPathMessage: 'UNKNOWN_RP_MESSAGE',
  ReturnPathLength: 'RP_LENGTH',
  BadRecvBitmap: 'BAD_RECV_BITMAP',
  BadVmstate: 'BAD_VMSTATE',
  BadVfio: 'BAD_VFIO',
  BadDirtyBitmap: 'BAD_DIRTY_BITMAP',
  BadBlockMigration: 'BAD_BLOCK_MIGRATION',
  BadCompressedPayload: 'BAD_COMPRESSED_PAYLOAD',
  NextPacketSize: 'NEXT_PACKET_SIZE',
  /** The input lacks bytes here (a packet capture lost them): decoding cannot go on in order. */
  StreamHole: 'STREAM_HOLE',
  AfterEof: 'AFTER_EOF',
  /** A stream decoded from mid-way (resumeInRam) names a section whose START came before the resume point. */
  SectionStartNotCaptured: 'SECTION_START_NOT_CAPTURED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface CodecErrorDetails {
  code: ErrorCode;
  /** Channel name given to the decoder ("main", "multifd 2", "return-path", ...). */
  channel: string;
  /** Role of the channel, when the decoder knows it (not part of toJSON, whose shape is stable). */
  role?: ChannelRole;
  /** Absolute byte offset in that channel where the bad input starts. */
  offset: number;
  expected?: string;
  found?: string;
  message: string;
}

/** Every decode failure is one of these: what, where (channel + offset), expected vs found. */
export class CodecError extends Error {
  readonly code: ErrorCode;
  readonly channel: string;
  readonly role: ChannelRole | undefined;
  readonly offset: number;
  readonly expected: string | undefined;
  readonly found: string | undefined;
  /** What went wrong, without the where (`message` adds code, channel and offset). */
  readonly reason: string;

  constructor(d: CodecErrorDetails) {
    const parts = [`${d.message} (${d.code}) on ${d.channel} at byte ${d.offset}`];
    if (d.expected !== undefined) parts.push(`expected ${d.expected}`);
    if (d.found !== undefined) parts.push(`found ${d.found}`);
    super(parts.join('; '));
    this.name = 'CodecError';
    this.code = d.code;
    this.channel = d.channel;
    this.role = d.role;
    this.offset = d.offset;
    this.expected = d.expected;
    this.found = d.found;
    this.reason = d.message;
  }

  toJSON(): Omit<CodecErrorDetails, 'role'> {
    const out: Omit<CodecErrorDetails, 'role'> = { code: this.code, channel: this.channel, offset: this.offset, message: this.message };
    if (this.expected !== undefined) out.expected = this.expected;
    if (this.found !== undefined) out.found = this.found;
    return out;
  }
}

export function isCodecError(e: unknown): e is CodecError {
  return e instanceof CodecError;
}

export function hex(n: number, width = 0): string {
  return '0x' + n.toString(16).padStart(width, '0');
}
