/** `migwire transcode`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { MIGRATION_OPTION, migrationOf } from './migration-option.js';
import { INPUT_HELP } from './input-help.js';
import { parseHostPort } from './host-port.js';
import { UsageError } from '../errors/usage-error.js';

export const transcode: CommandSpec = {
  summary: 'send a recorded migration again to a real destination, over another channel layout',
  usage: 'migwire transcode PATH [--migration N] --target HOST:PORT --channels N [--compression none|zlib|zstd] [--zero-pages multifd|legacy] [--qemu 7.2|10.0] [--timeout MS] [--json] [--quiet]',
  help: `${INPUT_HELP}

Decodes every channel of the recording (a plain precopy stream, or main + multifd) in the order its
destination applied it, and sends the same migration to the destination at --target (a QEMU in
\`migrate-incoming\`) as main + N multifd channels, or as a single main stream with --channels 0.
Device sections and commands pass through; RAM pages move between main-channel PAGE/ZERO records and
multifd packets (normal and zero pages, up to 128 per packet, compressed as asked). The SYNC packets
and MULTIFD_FLUSH records are placed by the flush coordinator of @migwire/sync: a setup barrier, one
before the last RAM section ends, and a new round whenever a page is sent again while an earlier copy
is still in the current round (no copy can overtake a newer one). With a QEMU 7.2 destination (or a
machine type <= 7.2) every RAM section end is a barrier instead, and a new round ends the RAM section.

Configure the destination as the output layout needs: \`multifd\` capability and multifd-channels N
(and multifd-compression) for N > 0, the same machine type and memory size as the recording's source.

Options:
  --target HOST:PORT     the destination's migrate-incoming address
  --channels N           multifd channels to send on (0: a single main stream)
  --compression METHOD   none (default), zlib (one stream per channel, flushed per packet) or zstd
                         (one frame per packet); must match the destination's multifd-compression
  --zero-pages WHERE     multifd (default on 10.0: zero pages as offsets in packets) or legacy (ZERO
                         records on main, QEMU's zero-page-detection=legacy; always on 7.2)
  --qemu 7.2|10.0        the destination's QEMU: packet layout and flush rule (default: the
                         recording's multifd layout, else its machine type's version)
  --timeout MS           how long the destination may read nothing while a channel is full, and
                         how long it may take to close the stream at the end (default 60000)
  --json                 the report as one JSON object
  --quiet                no progress on stderr
With the return path in the recording (OPEN_RETURN_PATH), PONG and SHUT messages are read and
reported. Progress goes to stderr every second; the summary gives pages, packets, SYNCs and bytes per
channel, the rounds and barriers, and what came back. Exit 0 when the destination took everything and
closed the stream (SHUT status 0 when it sent one), 1 otherwise or on a decode error, 2 on usage.`,
  options: {
    target: { type: 'string' },
    channels: { type: 'string' },
    compression: { type: 'string' },
    'zero-pages': { type: 'string' },
    qemu: { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    ...MIGRATION_OPTION,
  },
  run: async (pos, v, out) => {
    if (typeof v['target'] !== 'string' || typeof v['channels'] !== 'string') throw new UsageError('transcode needs --target HOST:PORT and --channels N');
    const target = parseHostPort(v['target'], '--target');
    const channels = Number(v['channels']);
    if (!Number.isInteger(channels) || channels < 0 || channels > 255) throw new UsageError(`--channels must be 0..255, got ${v['channels']}`);
    const compression = v['compression'] ?? 'none';
    if (compression !== 'none' && compression !== 'zlib' && compression !== 'zstd') throw new UsageError(`--compression must be none, zlib or zstd, got ${String(compression)}`);
    const zero = v['zero-pages'];
    if (zero !== undefined && zero !== 'multifd' && zero !== 'legacy') throw new UsageError(`--zero-pages must be multifd or legacy, got ${String(zero)}`);
    const qemu = v['qemu'];
    if (qemu !== undefined && qemu !== '7.2' && qemu !== '10.0') throw new UsageError(`--qemu must be 7.2 or 10.0, got ${String(qemu)}`);
    const timeoutMs = v['timeout'] === undefined ? undefined : Number(v['timeout']);
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new UsageError(`--timeout must be a positive number of ms, got ${String(v['timeout'])}`);
    const { transcode } = await import('../transcode/command.js');
    return transcode(
      pos[0]!,
      { target, channels, compression, ...(zero ? { zeroPages: zero } : {}), ...(qemu ? { qemu } : {}), ...(timeoutMs ? { timeoutMs } : {}), migration: migrationOf(v['migration']), json: v['json'] === true, quiet: v['quiet'] === true },
      out,
    );
  },
};
