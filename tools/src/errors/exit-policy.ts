/**
 * The CLI's one exit-code policy and one error shape. Every error becomes a single stderr line,
 * "migwire: <what> (<where>)", and an exit code: 2 when the command line is wrong, 1 for any data,
 * file, network or protocol problem (and anything unforeseen). The stack follows only with
 * MIGWIRE_DEBUG set. Errors are told apart by `name`/`code`, not instanceof, so this module loads
 * none of the packages (start-up speed) and still recognises their errors.
 */
import { printable } from '../format/printable.js';

export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_USAGE = 2;

export interface ErrorReport {
  code: typeof EXIT_PROBLEM | typeof EXIT_USAGE;
  /** One line: what went wrong and where. */
  line: string;
}

interface SystemErrorLike extends Error {
  code?: string;
  syscall?: string;
  path?: string;
  dest?: string;
  address?: string;
  port?: number;
}

/** Errors the user fixes on the command line. */
const USAGE_ERRORS = new Set(['UsageError', 'InputError', 'CaptureSelectionError']);

/** The toolkit's own errors: their message already says what and where (channel, offset, path). */
const TYPED_ERRORS = new Set(['CodecError', 'CaptureError', 'StreamStartNotCapturedError', 'ChannelError', 'SyncError', 'TranscodeError']);

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

/** Short words for the system errors users meet; others keep Node's message. */
const SYSTEM_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'already exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  ELOOP: 'is a symbolic link',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  ENOTFOUND: 'host not found',
  ETIMEDOUT: 'timed out',
  EPIPE: 'broken pipe',
};

/** "ENOENT: no such file or directory, open 'x'" -> "cannot open x: no such file or directory (ENOENT)". */
function systemErrorLine(e: SystemErrorLike): string {
  const code = e.code!;
  const where = e.path !== undefined ? `${e.path}${e.dest !== undefined ? ` -> ${e.dest}` : ''}` : e.address !== undefined ? `${e.address}${e.port !== undefined ? `:${e.port}` : ''}` : undefined;
  const what = SYSTEM_TEXT[code];
  if (e.syscall && where && what) return `cannot ${e.syscall} ${where}: ${what} (${code})`;
  const msg = oneLine(e.message);
  return msg.includes(code) ? msg : `${msg} (${code})`;
}

/** The exit code and the one line for an error thrown out of a command. */
export function describeError(e: unknown): ErrorReport {
  if (!(e instanceof Error)) return { code: EXIT_PROBLEM, line: oneLine(String(e)) };
  if (USAGE_ERRORS.has(e.name)) return { code: EXIT_USAGE, line: oneLine(e.message) };
  const sys = e as SystemErrorLike;
  // CodecError, CaptureError, ChannelError, SyncError, TranscodeError carry their where in the message.
  if (typeof sys.code === 'string' && !TYPED_ERRORS.has(e.name)) return { code: EXIT_PROBLEM, line: systemErrorLine(sys) };
  return { code: EXIT_PROBLEM, line: oneLine(e.message) || e.name };
}

/** Print an error in the one shape (plus the stack under MIGWIRE_DEBUG) and return its exit code. */
export function reportError(e: unknown, err: (line: string) => void, env: NodeJS.ProcessEnv = process.env): number {
  const r = describeError(e);
  // Messages quote names from the input (block names, idstrs, paths): no control character reaches the terminal raw.
  err(`migwire: ${printable(r.line)}`);
  if (env['MIGWIRE_DEBUG'] && e instanceof Error && e.stack) err(e.stack);
  return r.code;
}
