/** `migwire replay`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { MIGRATION_OPTION, migrationOf } from './migration-option.js';
import { parseHostPort } from './host-port.js';
import { UsageError } from '../errors/usage-error.js';

export const replay: CommandSpec = {
  summary: 'send a recorded migration into a listening destination QEMU and report how it took it',
  usage: 'migwire replay PATH [--migration N] (--target HOST:PORT | --qmp SOCKET --setup) [--timing fast|recorded] [--speed X] [--qmp SOCKET] [--tls DIR] [--out DIR [--force]] [--json] [--idle-timeout MS] [--timeout MS] [--quiet]',
  help: `PATH is a capture directory (connNN.src2dst.bin / connNN.dst2src.bin + index.json; chunks.csv
for --timing recorded), a directory with stream.bin or stream.bin.gz, or a single stream file.

The destination must already listen: start it with \`-incoming defer\`, set the capabilities and
parameters the recording used (meta.json lists them), then \`migrate-incoming\` with
{"uri": "tcp:HOST:PORT", "exit-on-error": false} (QEMU >= 9.1 then stays alive after a failed
load, so --qmp can report its error). --qmp needs a QMP monitor of its own: give QEMU a second
\`-qmp unix:PATH,server=on,wait=off\` when something else holds the first. Or let migwire do the
setup: --qmp SOCKET --setup (from the capture's meta.json; without one, from what the capture shows).
migwire opens the recorded connections toward --target in the recorded accept order, each
connected before the next (QEMU names TLS channels by arrival and the postcopy-preempt channel by
position), sends each connection's source->destination bytes (streamed from disk, at the pace the
destination reads them), half-closes when the recording's source did, and reads what the
destination sends back. A pcap/pcapng (optionally .gz) sends each TCP connection's reassembled
source->destination bytes; its recorded times are the packet timestamps. A file row (stream.bin / stream.bin.gz) or a single stream file is sent on
one main connection. TLS recorded encrypted cannot be replayed (a new TLS session cannot reuse it);
a recording whose TLS \`migwire record --tls\` terminated (plaintext) is replayed over new TLS
sessions with --tls.

Progress (bytes sent per connection) goes to stderr every second. The report gives, per
connection, bytes sent and received back, and for the main connection the return path decoded and
compared with the recorded one (same messages, or the first that differs). When the destination
fails (QMP status failed, a reset, a connection closed early) it prints QEMU's error next to the
byte offset sent on each connection at that moment.

Options:
  --target HOST:PORT   the destination's migrate-incoming address
  --timing MODE        fast: as fast as the destination takes it (default, except postcopy);
                       recorded: every chunk at its recorded time from chunks.csv or a
                       pcap's packet timestamps (default for
                       postcopy captures: the order between main and the preempt channel matters)
  --speed X            recorded time divided by X (2 = twice as fast); with --timing recorded
  --qmp SOCKET         the destination's QMP unix socket: poll query-migrate until completed or
                       failed, report its status, error-desc and events
  --setup              with --qmp: first set the destination up as meta.json says the recording's
                       was (capabilities, parameters; events on; exit-on-error off on QEMU >= 9.1)
                       and start migrate-incoming on --target (default 127.0.0.1 and a free port);
                       without meta.json (a pcap, a recording of migwire record) the settings are
                       inferred from the capture and the report says from what
  --tls DIR            speak x509 TLS toward the destination with the tls-creds-x509 folder DIR
                       (ca-cert.pem, client-cert.pem, client-key.pem)
  --out DIR            write what was sent and what came back as a capture directory (new or
                       empty; --force writes into a non-empty one, never through a link)
  --idle-timeout MS    without --qmp: stop when everything is sent and nothing moved for MS ms
                       (default 5000)
  --timeout MS         give up after MS ms (default 300000)
  --json               one JSON object with the report
  --quiet              no progress lines
Exit status: 0 when the destination reports completed (--qmp), or without --qmp when every byte was
sent and taken (no reset, no early close, the destination's SHUT status 0 when it sends one);
1 when the replay failed; 2 for a usage error.`,
  options: {
    target: { type: 'string' },
    timing: { type: 'string' },
    speed: { type: 'string' },
    qmp: { type: 'string' },
    setup: { type: 'boolean' },
    tls: { type: 'string' },
    out: { type: 'string' },
    'idle-timeout': { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    ...MIGRATION_OPTION,
    force: { type: 'boolean' },
  },
  run: async (pos, v, out) => {
    const setup = v['setup'] === true;
    if (setup && typeof v['qmp'] !== 'string') throw new UsageError('--setup needs --qmp SOCKET');
    if (typeof v['target'] !== 'string' && !setup) throw new UsageError('replay needs --target HOST:PORT (or --qmp SOCKET --setup)');
    const target = typeof v['target'] === 'string' ? parseHostPort(v['target'], '--target') : undefined;
    const timing = v['timing'];
    if (timing !== undefined && timing !== 'fast' && timing !== 'recorded') throw new UsageError(`--timing must be fast or recorded, got ${String(timing)}`);
    const num = (name: string): number | undefined => {
      const x = v[name];
      if (typeof x !== 'string') return undefined;
      const n = Number(x);
      if (!(n > 0)) throw new UsageError(`--${name} must be a positive number, got ${x}`);
      return n;
    };
    let tls;
    if (typeof v['tls'] === 'string') {
      const { clientTlsOptions, readQemuTlsDir } = await import('@migwire/channel-manager');
      try {
        tls = clientTlsOptions(readQemuTlsDir(v['tls']), target?.host ?? '127.0.0.1');
      } catch (e) {
        throw new UsageError(`--tls: ${(e as Error).message}`);
      }
    }
    const speed = num('speed');
    const idle = num('idle-timeout');
    const timeout = num('timeout');
    const { replay } = await import('../replay/command.js');
    return replay(
      pos[0]!,
      {
        ...(target ? { target } : {}),
        setup,
        ...(timing ? { timing } : {}),
        ...(speed !== undefined ? { speed } : {}),
        ...(typeof v['qmp'] === 'string' ? { qmpSocket: v['qmp'] } : {}),
        ...(tls ? { tls } : {}),
        ...(typeof v['out'] === 'string' ? { outDir: v['out'] } : {}),
        ...(v['force'] === true ? { force: true } : {}),
        ...(idle !== undefined ? { idleTimeoutMs: idle } : {}),
        ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
        migration: migrationOf(v['migration']),
        json: v['json'] === true,
        quiet: v['quiet'] === true,
      },
      out,
    );
  },
};
