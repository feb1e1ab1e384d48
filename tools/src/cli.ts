/** The `migwire` command line: argument parsing, help, and dispatch to the commands. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isCodecError } from '@migwire/stream-codec';
import { StdOutput, type Output } from './cli-io.js';
import { dump } from './commands/dump.js';
import { checkProtocol, checkRoundTrip } from './commands/check.js';
import { extract } from './commands/extract.js';
import { fuzz, FuzzUsageError } from './commands/fuzz.js';
import { parseHostPort, record } from './commands/record.js';
import { replay } from './commands/replay.js';
import { transcode } from './commands/transcode.js';
import { CaptureError } from '@migwire/capture';
import { InputError } from './input-error.js';

interface CommandSpec {
  summary: string;
  usage: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(positionals: string[], values: Record<string, string | boolean | string[] | undefined>, out: Output): Promise<number>;
}

const INPUT_HELP = `PATH is a capture directory (connNN.src2dst.bin / connNN.dst2src.bin + index.json, or stream.bin),
a single stream file (a .gz file is unpacked on the fly), or - for standard input.`;

const COMMANDS: Record<string, CommandSpec> = {
  dump: {
    summary: 'print every record of every channel (main, return path, multifd, postcopy-preempt)',
    usage: 'migwire dump PATH [--json] [--channel NAME]... [--section ID|IDSTR]... [--no-pages | --pages] [--fields] [--no-summary] [--bytes]',
    help: `${INPUT_HELP}

Output is one line per record: channel, byte offset, length, and what the record is. Runs of RAM
page records are folded into one line per RAM block unless --pages is given. A summary (records
and bytes per kind, pages per block, commands and return-path messages) ends the output.
Decoding streams each file: memory stays flat whatever the stream's size.

Options:
  --json             one JSON object per record (JSON lines); byte fields as {length, hex} with
                     the hex cut at 64 bytes (hexTruncated: true), page payloads left out,
                     integers beyond 2^53 as decimal strings
  --bytes            with --json: whole hex of every byte field, page payloads included
  --channel NAME     only this channel: main, return-path, multifd, multifd2, postcopy-preempt,
                     connNN or connNN.src2dst (repeatable)
  --section ID       only records of this section id or idstr, e.g. 2 or ram (repeatable)
  --no-pages         leave out RAM page records
  --pages            list every page record instead of one line per run
  --fields           show the VMState fields of device sections (uses the stream's own
                     VMDESCRIPTION trailer when the input is a seekable file)
  --no-summary       no summary at the end
Exit status: 0 when every channel decoded to the end, 1 when one stopped at an error (shown with
its code, channel and byte offset), 2 for a usage error.`,
    options: {
      json: { type: 'boolean' },
      channel: { type: 'string', multiple: true },
      section: { type: 'string', multiple: true },
      'no-pages': { type: 'boolean' },
      pages: { type: 'boolean' },
      fields: { type: 'boolean' },
      'no-summary': { type: 'boolean' },
      bytes: { type: 'boolean' },
    },
    run: (pos, v, out) =>
      dump(
        pos[0]!,
        {
          json: v['json'] === true,
          channels: (v['channel'] as string[] | undefined) ?? [],
          sections: (v['section'] as string[] | undefined) ?? [],
          noPages: v['no-pages'] === true,
          pages: v['pages'] === true,
          fields: v['fields'] === true,
          summary: v['no-summary'] !== true,
          bytes: v['bytes'] === true,
        },
        out,
      ),
  },
  check: {
    summary: 'prove (or disprove) the multi-channel rules on a recording; --roundtrip: byte-exact re-encode',
    usage: 'migwire check PATH [--json] | migwire check --roundtrip PATH [--json]',
    help: `${INPUT_HELP}

Without --roundtrip, decodes every channel and checks, with the arrival times in chunks.csv:
  decodes                    every channel decodes to the end
  multifd-channel-ids        init-message ids unique and exactly 0..N-1
  packet-numbers             increase per channel, unique across channels
  sync-per-flush             each MULTIFD_FLUSH on main (each RAM EOS before 8.0) matched by one
                             SYNC on every channel
  round-order                no page has two different copies in one round on different channels
                             (either could land last); rounds are counted per channel by SYNC
  no-multifd-after-postcopy  no multifd page arrives after POSTCOPY_LISTEN
  preempt-pages-only         the postcopy-preempt channel carries page records only
  ping-pong                  every PING answered by a PONG with its value
  page-requests-served       every REQ_PAGES(_ID) answered by the page (main or preempt)
  switchover-ack             with switchover-ack on (meta.json caps), SWITCHOVER_ACK arrives before
                             completion
Prints PASS/FAIL/N/A per rule (with the channel and byte offset of the first violation), then the
rounds with pages per channel and the number of re-sent pages. Exit 0 only when no rule fails.

  --roundtrip   instead: decode every channel of PATH to the end, re-encode every record, and
                compare with the input. Exit 0 only if every byte matches; otherwise exit 1 and
                report, per channel, the first differing byte offset or the decode error.
  --json        one JSON object with the report`,
    options: { roundtrip: { type: 'boolean' }, json: { type: 'boolean' } },
    run: async (pos, v, out) => (v['roundtrip'] === true ? checkRoundTrip(pos[0]!, v['json'] === true, out) : checkProtocol(pos[0]!, v['json'] === true, out)),
  },
  record: {
    summary: 'a recording proxy: forward a live migration between two QEMUs and record every channel',
    usage: 'migwire record --listen HOST:PORT --target HOST:PORT --out DIR [--tls DIR] [--multifd N] [--check] [--exit-when-idle MS] [--quiet]',
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
                         (default: run until SIGINT/SIGTERM)
  --quiet                no progress lines`,
    options: {
      listen: { type: 'string' },
      target: { type: 'string' },
      out: { type: 'string' },
      multifd: { type: 'string' },
      'exit-when-idle': { type: 'string' },
      check: { type: 'boolean' },
      tls: { type: 'string' },
      quiet: { type: 'boolean' },
    },
    run: async (_pos, v, out) => {
      if (typeof v['listen'] !== 'string' || typeof v['target'] !== 'string' || typeof v['out'] !== 'string') throw new UsageError('record needs --listen, --target and --out');
      let listen, target;
      try {
        listen = parseHostPort(v['listen'], '--listen');
        target = parseHostPort(v['target'], '--target');
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
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
        },
        out,
      );
    },
  },
  transcode: {
    summary: 'send a recorded migration again to a real destination, over another channel layout',
    usage: 'migwire transcode PATH --target HOST:PORT --channels N [--compression none|zlib|zstd] [--zero-pages multifd|legacy] [--qemu 7.2|10.0] [--timeout MS] [--json] [--quiet]',
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
    },
    run: async (pos, v, out) => {
      if (typeof v['target'] !== 'string' || typeof v['channels'] !== 'string') throw new UsageError('transcode needs --target HOST:PORT and --channels N');
      let target;
      try {
        target = parseHostPort(v['target'], '--target');
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
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
      return transcode(
        pos[0]!,
        { target, channels, compression, ...(zero ? { zeroPages: zero } : {}), ...(qemu ? { qemu } : {}), ...(timeoutMs ? { timeoutMs } : {}), json: v['json'] === true, quiet: v['quiet'] === true },
        out,
      );
    },
  },
  replay: {
    summary: 'send a recorded migration into a listening destination QEMU and report how it took it',
    usage: 'migwire replay PATH (--target HOST:PORT | --qmp SOCKET --setup) [--timing fast|recorded] [--speed X] [--qmp SOCKET] [--tls DIR] [--out DIR] [--json] [--idle-timeout MS] [--timeout MS] [--quiet]',
    help: `PATH is a capture directory (connNN.src2dst.bin / connNN.dst2src.bin + index.json; chunks.csv
for --timing recorded), a directory with stream.bin or stream.bin.gz, or a single stream file.

The destination must already listen: start it with \`-incoming defer\`, set the capabilities and
parameters the recording used (meta.json lists them), then \`migrate-incoming\` with
{"uri": "tcp:HOST:PORT", "exit-on-error": false} (QEMU >= 9.1 then stays alive after a failed
load, so --qmp can report its error). --qmp needs a QMP monitor of its own: give QEMU a second
\`-qmp unix:PATH,server=on,wait=off\` when something else holds the first. Or let migwire do the
setup: --qmp SOCKET --setup (from the capture's meta.json).
migwire opens the recorded connections toward --target in the recorded accept order, each
connected before the next (QEMU names TLS channels by arrival and the postcopy-preempt channel by
position), sends each connection's source->destination bytes (streamed from disk, at the pace the
destination reads them), half-closes when the recording's source did, and reads what the
destination sends back. A file row (stream.bin / stream.bin.gz) or a single stream file is sent on
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
                       recorded: every chunk at its recorded time from chunks.csv (default for
                       postcopy captures: the order between main and the preempt channel matters)
  --speed X            recorded time divided by X (2 = twice as fast); with --timing recorded
  --qmp SOCKET         the destination's QMP unix socket: poll query-migrate until completed or
                       failed, report its status, error-desc and events
  --setup              with --qmp: first set the destination up as meta.json says the recording's
                       was (capabilities, parameters; events on; exit-on-error off on QEMU >= 9.1)
                       and start migrate-incoming on --target (default 127.0.0.1 and a free port)
  --tls DIR            speak x509 TLS toward the destination with the tls-creds-x509 folder DIR
                       (ca-cert.pem, client-cert.pem, client-key.pem)
  --out DIR            write what was sent and what came back as a capture directory
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
    },
    run: async (pos, v, out) => {
      const setup = v['setup'] === true;
      if (setup && typeof v['qmp'] !== 'string') throw new UsageError('--setup needs --qmp SOCKET');
      if (typeof v['target'] !== 'string' && !setup) throw new UsageError('replay needs --target HOST:PORT (or --qmp SOCKET --setup)');
      let target;
      try {
        if (typeof v['target'] === 'string') target = parseHostPort(v['target'], '--target');
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
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
          ...(idle !== undefined ? { idleTimeoutMs: idle } : {}),
          ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
          json: v['json'] === true,
          quiet: v['quiet'] === true,
        },
        out,
      );
    },
  },
  'tls-certs': {
    summary: 'make x509 credentials (CA, server, client) for QEMU tls-creds-x509 and migwire record --tls',
    usage: 'migwire tls-certs --out DIR [--ip ADDR]... [--dns NAME]...',
    help: `Writes ca-cert.pem, ca-key.pem, server-cert.pem, server-key.pem, client-cert.pem and
client-key.pem into DIR (keys 0600): a CA and server/client certificates it signed, RSA 2048,
valid for a year. The server certificate names every --ip and --dns given (default 127.0.0.1, ::1
and localhost): it must name the host in the migration URI. Point both QEMUs' tls-creds-x509
objects (endpoint=client on the source, endpoint=server on the destination) and
\`migwire record --tls DIR\` at the same folder.`,
    options: { out: { type: 'string' }, ip: { type: 'string', multiple: true }, dns: { type: 'string', multiple: true } },
    run: async (_pos, v, out) => {
      if (typeof v['out'] !== 'string') throw new UsageError('tls-certs needs --out DIR');
      const { generateTlsCredentials, writeQemuTlsDir } = await import('@migwire/channel-manager');
      const { writeFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      const ips = v['ip'] as string[] | undefined;
      const dns = v['dns'] as string[] | undefined;
      const creds = generateTlsCredentials({ ...(ips ? { ipAddresses: ips } : {}), ...(dns ? { dnsNames: dns } : {}), cache: false });
      writeQemuTlsDir(v['out'], creds);
      writeFileSync(join(v['out'], 'ca-key.pem'), creds.caKey, { mode: 0o600 });
      out.line(`wrote CA, server and client credentials to ${v['out']}`);
      return 0;
    },
  },
  extract: {
    summary: "rebuild the guest's RAM as the destination had it at completion, one image per RAM block",
    usage: 'migwire extract PATH --out DIR [--block NAME]... [--quiet]',
    help: `${INPUT_HELP}

Writes DIR/<block>.img for each RAM block (block names are made safe: nothing is written outside
DIR), holding each page's last content in the order the destination applies them: pages from the
main channel (PAGE, ZERO, XBZRLE applied to the previous copy), multifd packets (normal pages,
decompressed; zero pages), and the postcopy-preempt channel. Multifd pages are applied round by
round (a page of a later SYNC round wins over an earlier one). Zero pages are holes: the images are
sparse files. Also writes DIR/blocks.json (name, file, length, pages written).

Options:
  --out DIR       output folder (created)
  --block NAME    only this RAM block (repeatable)
  --quiet         no progress on stderr`,
    options: { out: { type: 'string' }, block: { type: 'string', multiple: true }, quiet: { type: 'boolean' } },
    run: async (pos, v, out) => {
      if (typeof v['out'] !== 'string') throw new UsageError('extract needs --out DIR');
      return extract(pos[0]!, { outDir: v['out'], blocks: (v['block'] as string[] | undefined) ?? [], quiet: v['quiet'] === true }, out);
    },
  },
  fuzz: {
    summary: 'structure-aware fuzzing: mutated fixtures from real streams, our codec under 10^6 inputs, QEMU\'s loader',
    usage: 'migwire fuzz mutate SEED_STREAM --count N --out DIR [--seed S] [--kinds K,...] [--channel NAME] [--reduce] [--json]\n       migwire fuzz codec [--count N] [--seed S] [--seeds PATH[#CHANNEL]]... [--kinds K,...] [--jobs N] [--out DIR] [--json]\n       migwire fuzz qemu --out DIR [--seeds PATH]... [--count N] [--qemu 10.0|7.2] [--timeout MS] [--seed S] [--kinds K,...] [--reduce] [--json]',
    help: `Seeds are real streams: a fixture or capture directory (its main channel, or --channel / PATH#CHANNEL:
return-path, "multifd 0", conn01.src2dst ...) or a stream file. A seed is decoded, mutated at the
structure level and re-encoded with the codec's encoders, or mutated byte by byte. Input i uses seed
number S+i (default S=1): the same seed stream, number and kinds give the same bytes everywhere.

Mutation kinds (--kinds takes a comma list; default all that apply to the channel):
  main:        section-id footer-id version-id instance-id idstr-length idstr-name subsection-name
               vmstate-field (guided by the stream's VMDESCRIPTION: counts, lengths, indices first)
               ram-flags ram-offset ram-mem-size ram-block-list command-length command-payload
               packaged-length
  multifd:     multifd-init-id multifd-init-version multifd-page-count multifd-zero-count
               multifd-next-packet-size multifd-packet-num multifd-compression
  return path: rp-type rp-length rp-payload
  any channel: record-drop record-duplicate bit-flip byte-set insert delete truncate

fuzz mutate SEED_STREAM --out DIR
  Writes --count (default 100) fixtures NNNN-KIND.bin and DIR/manifest.json: per fixture its seed
  number, the mutation (kind, path, old and new value), the byte offset it touched, size, sha256.
  --reduce keeps only a few RAM pages of each kind (a 32 MiB guest's stream shrinks to ~100 KB).

fuzz codec
  Feeds mutants through every decoder (MainStreamDecoder, ReturnPathDecoder, MultifdDecoder and
  MultifdPageDecoder) in random chunk sizes, from reduced seeds (default: every fixture, and the main
  channel, first multifd channel and return path of each shared capture). Every input must end in
  records or a CodecError, hold no more bytes than the decoder's limits allow, and after an error
  reset() must give a decoder that decodes the seed again; a worker thread whose input makes no
  progress for --hang-ms (default 10000) is a hang. Prints inputs/s, per-decoder counts and the
  error-code histogram. --count default 100000; --jobs worker threads (default 1); --out DIR keeps
  each finding's input and findings.json. Exit 1 when anything was found.

fuzz qemu --out DIR
  Loads each mutant into a fresh destination QEMU (-incoming defer, machine, RAM and capabilities
  from the seed's meta.json; migrate-incoming exec:cat FILE) and classifies it: loaded (completed;
  the guest is then run briefly), rejected (QEMU's error-desc and its printed lines kept), crashed
  (died by a signal: signal and last output lines kept), hung (no outcome within --timeout ms,
  default 10000). Crashing and hanging inputs are minimised (whole sections removed while the outcome
  stays the same) and kept in DIR/findings with a one-line QEMU command that reproduces them.
  Seeds (--seeds, repeatable; default every fixture) must be main streams with a meta.json.
  Writes DIR/results.jsonl (one line per input) and DIR/report.json; prints the outcomes per
  mutation kind and the most frequent rejection messages. Exit 1 when something crashed or hung.`,
    options: {
      count: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      kinds: { type: 'string', multiple: true },
      channel: { type: 'string' },
      seeds: { type: 'string', multiple: true },
      reduce: { type: 'boolean' },
      json: { type: 'boolean' },
      jobs: { type: 'string' },
      'hang-ms': { type: 'string' },
      qemu: { type: 'string' },
      timeout: { type: 'string' },
      'minimise-runs': { type: 'string' },
      quiet: { type: 'boolean' },
    },
    run: async (pos, v, out) => {
      try {
        return await fuzz(pos, v, out);
      } catch (e) {
        if (e instanceof FuzzUsageError) throw new UsageError(e.message);
        throw e;
      }
    },
  },
};

class UsageError extends Error {}

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'migwire: read, check and rebuild QEMU live-migration traffic',
    '',
    'Usage: migwire <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'migwire <command> --help' for a command's options.",
  ].join('\n');
}

export async function main(argv: string[], out: Output = new StdOutput()): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      const sub = name === 'help' ? rest[0] : undefined;
      out.line(sub && COMMANDS[sub] ? commandHelp(sub) : mainHelp());
      return 0;
    }
    if (name === '--version') {
      out.line('migwire 0.1.0');
      return 0;
    }
    const cmd = COMMANDS[name];
    if (!cmd) throw new UsageError(`unknown command '${name}'\n\n${mainHelp()}`);
    if (rest.includes('--help') || rest.includes('-h')) {
      out.line(commandHelp(name));
      return 0;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nusage: ${cmd.usage}`);
    }
    const noPath = name === 'record' || name === 'tls-certs';
    if (name !== 'fuzz' && parsed.positionals.length !== (noPath ? 0 : 1)) throw new UsageError(`${noPath ? `${name} takes no PATH` : 'expected one PATH'}\nusage: ${cmd.usage}`);
    return await cmd.run(parsed.positionals, parsed.values as Record<string, string | boolean | string[] | undefined>, out);
  } catch (e) {
    if (e instanceof UsageError) {
      out.err(`migwire: ${e.message}`);
      return 2;
    }
    if (e instanceof InputError || e instanceof CaptureError) {
      out.err(`migwire: ${e.message}`);
      return 2;
    }
    if (isCodecError(e)) {
      out.err(`migwire: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    out.flush();
  }
}

function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  return `migwire ${name}: ${c.summary}\n\nUsage: ${c.usage}\n\n${c.help}`;
}
