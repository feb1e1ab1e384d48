/** Payloads of MIG_CMD_* commands: parsed for people, kept raw for byte-exact re-encoding. */
import { Command, COMMAND_NAMES } from '../core/constants.js';
import { ErrorCode } from '../core/errors.js';
import { PayloadProblem } from '../core/problem.js';
import { bytesToLatin1, readU32, readU64Exact, type U64 } from '../core/bytes.js';

/** Page ranges as sent: exact U64s (bigint beyond 2^53), so a dump never shows a rounded value. */
export interface DiscardRange {
  start: U64;
  length: U64;
}

export type CommandArgs =
  | { command: 'OPEN_RETURN_PATH' | 'POSTCOPY_LISTEN' | 'POSTCOPY_RUN' | 'ENABLE_COLO' | 'POSTCOPY_RESUME' | 'SWITCHOVER_START' }
  | { command: 'PING'; value: number }
  /** pageSizeSummary/targetPageSize are absent in the 0-length form (postcopy for dirty bitmaps only). */
  | { command: 'POSTCOPY_ADVISE'; pageSizeSummary?: U64; targetPageSize?: U64 }
  | { command: 'POSTCOPY_RAM_DISCARD'; version: number; block: string; ranges: DiscardRange[] }
  | { command: 'PACKAGED'; length: number }
  | { command: 'RECV_BITMAP'; block: string };

/**
 * A POSTCOPY_ADVISE for RAM: postcopy-ram was on, so the stream may switch to postcopy. QEMU also
 * sends ADVISE, empty, when only dirty-bitmaps is on (the bitmaps may go after the switch); that
 * one says nothing about RAM.
 */
export function advisesRamPostcopy(args: CommandArgs): boolean {
  return args.command === 'POSTCOPY_ADVISE' && args.pageSizeSummary !== undefined;
}

export function commandName(cmd: number): string | undefined {
  return COMMAND_NAMES[cmd];
}

function expectLength(name: string, payload: Uint8Array, ...allowed: number[]): void {
  if (!allowed.includes(payload.length)) {
    throw new PayloadProblem(
      ErrorCode.CommandLength,
      `${name} payload has the wrong length`,
      allowed.join(' or '),
      String(payload.length),
    );
  }
}

/** Parse a command payload; throws PayloadProblem when its shape is wrong. */
export function decodeCommandArgs(cmd: number, payload: Uint8Array): CommandArgs {
  switch (cmd) {
    case Command.OpenReturnPath:
    case Command.PostcopyListen:
    case Command.PostcopyRun:
    case Command.EnableColo:
    case Command.PostcopyResume:
    case Command.SwitchoverStart: {
      const name = COMMAND_NAMES[cmd] as 'OPEN_RETURN_PATH';
      expectLength(name, payload, 0);
      return { command: name };
    }
    case Command.Ping:
      expectLength('PING', payload, 4);
      return { command: 'PING', value: readU32(payload, 0) };
    case Command.PostcopyAdvise:
      expectLength('POSTCOPY_ADVISE', payload, 0, 16);
      if (payload.length === 0) return { command: 'POSTCOPY_ADVISE' };
      return { command: 'POSTCOPY_ADVISE', pageSizeSummary: readU64Exact(payload, 0), targetPageSize: readU64Exact(payload, 8) };
    case Command.PostcopyRamDiscard:
      return decodeDiscard(payload);
    case Command.Packaged:
      expectLength('PACKAGED', payload, 4);
      return { command: 'PACKAGED', length: readU32(payload, 0) };
    case Command.RecvBitmap: {
      if (payload.length < 1 || payload[0]! + 1 !== payload.length) {
        throw new PayloadProblem(ErrorCode.CommandLength, 'RECV_BITMAP payload must be a length byte and a block name', `1 + ${payload[0] ?? 0}`, String(payload.length));
      }
      return { command: 'RECV_BITMAP', block: bytesToLatin1(payload.subarray(1)) };
    }
    default:
      throw new PayloadProblem(ErrorCode.UnknownCommand, 'unknown command', '1..11', String(cmd));
  }
}

/** version u8 (0), name length u8, name, a 0 byte, then (be64 start, be64 length) pairs. */
function decodeDiscard(p: Uint8Array): CommandArgs {
  if (p.length < 3) {
    throw new PayloadProblem(ErrorCode.CommandLength, 'POSTCOPY_RAM_DISCARD payload too short', '>= 3', String(p.length));
  }
  const version = p[0]!;
  if (version !== 0) {
    throw new PayloadProblem(ErrorCode.CommandLength, 'POSTCOPY_RAM_DISCARD version unknown', '0', String(version), 0);
  }
  const nameLen = p[1]!;
  const head = 2 + nameLen + 1;
  if (p.length < head || (p.length - head) % 16 !== 0) {
    throw new PayloadProblem(ErrorCode.CommandLength, 'POSTCOPY_RAM_DISCARD length is not header + 16-byte ranges', `${head} + 16*n`, String(p.length));
  }
  if (p[head - 1] !== 0) {
    throw new PayloadProblem(ErrorCode.CommandLength, 'POSTCOPY_RAM_DISCARD block name is not followed by a 0 byte', '0', String(p[head - 1]), head - 1);
  }
  const ranges: DiscardRange[] = [];
  for (let at = head; at < p.length; at += 16) ranges.push({ start: readU64Exact(p, at), length: readU64Exact(p, at + 8) });
  return { command: 'POSTCOPY_RAM_DISCARD', version, block: bytesToLatin1(p.subarray(2, 2 + nameLen)), ranges };
}
