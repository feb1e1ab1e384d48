/** `migwire record`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { parseHostPort } from './host-port.js';
import { UsageError } from '../errors/usage-error.js';

export const record: CommandSpec = {
  summary: 'a recording proxy: forward a live migration between two QEMUs and record every channel',
  usage: 'migwire record --listen HOST:PORT --target HOST:PORT --out DIR [--tls DIR] [--multifd N] [--check] [--exit-when-idle MS] [--direct-io] [--force] [--quiet]',
  help: `Point the source QEMU's \`migrate\` at --listen; migwire opens one connection to --target (the
destination's \`migrate-incoming\` address) per connection the source opens, in the same order,
forwards both directions (half-close passed on, backpressure respected), and records every byte:
DIR/connNN.src2dst.bin and connNN.dst2src.bin, chunks.csv (per-recv timing) and index.json, the
shared capture format that dump, check and extract read. Channels are named from their first bytes
(main, multifd N from the init message, postcopy-preempt by position).

Progress (per channel: role, bytes, rate) goes to stderr every second. At the end it reports, per
connection and direction, bytes received = forwarded = written; exit 1 if any differ, a connection
to the target failed, or the disk refused a write. A source killed mid-migration or a destination
that resets ends that connection; what was received is on disk.

Options:
  --listen HOST:PORT     where the source connects (port 0: pick one, printed on stderr)
  --target HOST:PORT     the destination QEMU
  --out DIR              capture directory (created)
  --multifd N            expected multifd channels (for channel checks)
  --tls DIR              terminate x509 TLS on both sides with the QEMU tls-creds-x509 folder DIR
                         (ca-cert.pem, server-cert.pem/-key.pem toward the source, client-cert.pem/
                         -key.pem toward the destination) and record the plaintext; channels are then
                         named from their decrypted first bytes. Without it TLS passes through
                         encrypted and channels are named by order (main(tls), multifd(tls)).
                         \`migwire tls-certs --out DIR\` makes such a folder.
  --check                run the protocol rules of \`migwire check\` while proxying (violations on
                         stderr as they happen: decode errors, multifd ids, packet numbers, multifd
                         pages after postcopy starts, non-page records on the preempt channel), then
                         the full check on the finished recording; exit 1 if any rule fails
  --exit-when-idle MS    stop once every connection has closed and no new one came for MS ms
                         (default: run until SIGINT/SIGTERM; a stop signal closes connections
                         still open after 0.5 s, writes index.json with status stopped, exit 1)
  --direct-io            write the channel files with O_DIRECT, around the page cache: far less CPU
                         per recorded byte (the kernel's copy into fresh cache pages is skipped) and
                         memory left alone, at the disk's own speed with no cache to absorb a burst.
                         Where the file system refuses O_DIRECT (tmpfs, some network file systems)
                         the files go through the page cache, and a note says so
  --force                record into a folder that is not empty (files of the same name are
                         replaced; a link is removed, never written through)
  --quiet                no progress lines`,
  paths: 'none',
  options: {
    listen: { type: 'string' },
    target: { type: 'string' },
    out: { type: 'string' },
    multifd: { type: 'string' },
    'exit-when-idle': { type: 'string' },
    check: { type: 'boolean' },
    tls: { type: 'string' },
    quiet: { type: 'boolean' },
    force: { type: 'boolean' },
    'direct-io': { type: 'boolean' },
  },
  run: async (_pos, v, out) => {
    if (typeof v['listen'] !== 'string' || typeof v['target'] !== 'string' || typeof v['out'] !== 'string') throw new UsageError('record needs --listen, --target and --out');
    const listen = parseHostPort(v['listen'], '--listen');
    const target = parseHostPort(v['target'], '--target');
    const { record } = await import('../record/command.js');
    return record(
      {
        listen,
        target,
        outDir: v['out'],
        ...(typeof v['multifd'] === 'string' ? { multifdChannels: Number(v['multifd']) } : {}),
        idleExitMs: typeof v['exit-when-idle'] === 'string' ? Number(v['exit-when-idle']) : 0,
        check: v['check'] === true,
        ...(typeof v['tls'] === 'string' ? { tlsDir: v['tls'] } : {}),
        quiet: v['quiet'] === true,
        force: v['force'] === true,
        directIo: v['direct-io'] === true,
      },
      out,
    );
  },
};
