/** The `migwire` command line: argument parsing, help, and dispatch to the commands. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isCodecError } from '@migwire/stream-codec';
import { StdOutput, type Output } from './cli-io.js';
import { dump } from './commands/dump.js';
import { checkProtocol, checkRoundTrip } from './commands/check.js';
import { extract } from './commands/extract.js';
import { fuzz, FuzzUsageError } from './commands/fuzz.js';
import { parseHostPort, record } from './commands/record.js';
import { InputError } from './input/capture.js';

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
    usage: 'migwire dump PATH [--json] [--channel NAME]... [--section ID|IDSTR]... [--no-pages | --pages] [--fields] [--no-summary]',
    help: `${INPUT_HELP}

Output is one line per record: channel, byte offset, length, and what the record is. Runs of RAM
page records are folded into one line per RAM block unless --pages is given. A summary (records
and bytes per kind, pages per block, commands and return-path messages) ends the output.
Decoding streams each file: memory stays flat whatever the stream's size.

Options:
  --json             one JSON object per record (JSON lines); byte fields as {length, hex}
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
    if (e instanceof InputError) {
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
