/** `migwire transcode`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { MIGRATION_OPTION, migrationOf } from './migration-option.js';
import { INPUT_HELP } from './input-help.js';
import { parseHostPort } from './host-port.js';
import { UsageError } from '../errors/usage-error.js';

export const transcode: CommandSpec = {
  summary: 'send a recorded migration again to a real destination, over another channel layout',
  usage: 'migwire transcode PATH [--migration N] --target HOST:PORT --channels N [--compression none|zlib|zstd] [--zero-pages multifd|legacy] [--qemu 7.2|10.0|11.1] [--preempt] [--switchover-ack on|off] [--switchover-ack-legacy on|off] [--timeout MS] [--json] [--quiet]',
  help: `${INPUT_HELP}

Decodes every channel of the recording (a plain precopy stream, main + multifd, postcopy with or
without multifd and a preempt channel) in the order its
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
  --qemu 7.2|10.0|11.1   the destination's QEMU: packet layout, flush rule, whether multifd and
                         postcopy go together (11.1) (default: the first of these releases that has
                         the recording's machine type, at least what its multifd layout needs)
  --preempt              open a postcopy-preempt channel after main and the multifd channels (the
                         destination has postcopy-preempt on); the recording's preempt pages go there
  --switchover-ack on|off  whether the destination has switchover-ack on (default: the recording's
                         meta.json); in the legacy protocol transcode waits for its SWITCHOVER_ACK
                         before the switchover and fails if none comes within --timeout
  --switchover-ack-legacy on|off  the destination's protocol when forced by the property (default:
                         legacy up to machine type 11.0, per-device from 11.1: no ACK without a device)
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
    preempt: { type: 'boolean' },
    'switchover-ack': { type: 'string' },
    'switchover-ack-legacy': { type: 'string' },
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
    const { isSupportedRelease, SUPPORTED_RELEASES } = await import('@migwire/stream-codec');
    if (qemu !== undefined && !isSupportedRelease(qemu)) throw new UsageError(`--qemu must be one of ${SUPPORTED_RELEASES.join(', ')}, got ${String(qemu)}`);
    const onOff = (name: string): boolean | undefined => {
      const x = v[name];
      if (x === undefined) return undefined;
      if (x !== 'on' && x !== 'off') throw new UsageError(`--${name} must be on or off, got ${String(x)}`);
      return x === 'on';
    };
    const ack = onOff('switchover-ack');
    const legacy = onOff('switchover-ack-legacy');
    const timeoutMs = v['timeout'] === undefined ? undefined : Number(v['timeout']);
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new UsageError(`--timeout must be a positive number of ms, got ${String(v['timeout'])}`);
    const { transcode } = await import('../transcode/command.js');
    return transcode(
      pos[0]!,
      {
        target, channels, compression, ...(zero ? { zeroPages: zero } : {}), ...(qemu ? { qemu } : {}), ...(timeoutMs ? { timeoutMs } : {}),
        ...(v['preempt'] === true ? { preempt: true } : {}), ...(ack !== undefined ? { switchoverAck: ack } : {}),
        ...(legacy !== undefined ? { switchoverAckMode: legacy ? ('legacy' as const) : ('per-device' as const) } : {}),
        migration: migrationOf(v['migration']), json: v['json'] === true, quiet: v['quiet'] === true,
      },
      out,
    );
  },
};
