/** `migwire import`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { MIGRATION_OPTION, migrationOf } from './migration-option.js';
import { UsageError } from '../errors/usage-error.js';

export const importCapture: CommandSpec = {
  summary: 'write a migration from a tcpdump/Wireshark capture (.pcap, .pcapng, .gz) as a capture directory',
  usage: 'migwire import FILE --out DIR [--migration N] [--force] [--quiet]',
  help: `FILE is a libpcap or pcapng capture (optionally gzipped; link types Ethernet with VLAN tags,
Linux cooked v1/v2 as from \`tcpdump -i any\`, raw IP, BSD loopback; IPv4 and IPv6). Its TCP
connections are reassembled per direction (reordering, retransmissions, sequence wrap), grouped
into migrations by destination and time, and one migration is written to DIR in migwire's own
format: connNN.src2dst.bin / connNN.dst2src.bin (NN in order of first packet), chunks.csv (one row
per captured segment, t = seconds since the migration's first packet) and index.json, which dump,
check, extract, replay and transcode read like a recording.

Bytes the capture missed (a dropped segment, a packet cut by the snapshot length) are a hole:
that direction's file stops at it, the hole is reported with its connection, direction and
stream offset, and the exit status is 1. Connections whose SYN was not captured, TLS channels
and unrelated traffic are listed as notes.

Options:
  --out DIR        capture directory to write (created; an existing one must be empty)
  --force          write into a folder that is not empty (files of the same name are replaced; a
                   link is removed, never written through)
  --migration N    the migration to import when the file holds several (the error lists them)
  --quiet          no notes, only the per-connection lines`,
  options: { out: { type: 'string' }, quiet: { type: 'boolean' }, force: { type: 'boolean' }, ...MIGRATION_OPTION },
  run: async (pos, v, out) => {
    if (typeof v['out'] !== 'string') throw new UsageError('import needs --out DIR');
    const { importCommand } = await import('../import/command.js');
    return importCommand(pos[0]!, { outDir: v['out'], migration: migrationOf(v['migration']), quiet: v['quiet'] === true, force: v['force'] === true }, out);
  },
};
