/** `migwire report`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { MIGRATION_OPTION, migrationOf } from './migration-option.js';

export const report: CommandSpec = {
  summary: 'one self-contained HTML file that shows a migration and explains why it converged (or not)',
  usage: 'migwire report PATH --out FILE [--qmp FILE] [--migration N] [--json]',
  help: `Decodes every channel once (bounded memory) and writes one HTML file that needs no network to
view: the headline (release, machine, capabilities, bytes per channel, duration, the \`check\`
verdict), throughput per channel over time with rounds, SWITCHOVER_START, POSTCOPY_LISTEN/RUN, the
end and return-path messages marked; per round pages sent, re-sent and zero, bytes, dirty rate
against bandwidth; the switchover model of @migwire/sync replayed per round next to what QEMU did,
with a sentence that explains the outcome; postcopy page requests and how long each page took;
hot pages. PATH is a recording, a stream file (.gz too) or a pcap; not standard input (it is read
twice). The report is written even when the recording fails \`check\` (a failed migration is what it
explains); the exit status is then 1, as for \`check\`.

Options:
  --out FILE    where to write the HTML (or the JSON with --json); - for standard output
  --qmp FILE    the source's QMP transcript (JSON lines {"t","dir","msg"}): the downtime limit in
                force and QEMU's query-migrate answers. Default: PATH/qmp-src.jsonl when there;
                without one QEMU's default downtime limit (300 ms) is assumed, and the report says so
  --json        the analysis as one JSON object instead of HTML
  --migration N PATH is a pcap/pcapng holding several migrations: report migration N`,
  options: { out: { type: 'string' }, qmp: { type: 'string' }, json: { type: 'boolean' }, ...MIGRATION_OPTION },
  run: async (pos, v, out) => {
    const { report } = await import('../report/command.js');
    return report(pos[0]!, { json: v['json'] === true, migration: migrationOf(v['migration']), ...(typeof v['out'] === 'string' ? { out: v['out'] } : {}), ...(typeof v['qmp'] === 'string' ? { qmp: v['qmp'] } : {}) }, out);
  },
};
