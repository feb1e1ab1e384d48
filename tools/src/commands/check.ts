/** `migwire check`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { MIGRATION_OPTION, migrationOf } from './migration-option.js';
import { INPUT_HELP } from './input-help.js';

export const check: CommandSpec = {
  summary: 'prove (or disprove) the multi-channel rules on a recording; --roundtrip: byte-exact re-encode',
  usage: 'migwire check PATH [--migration N] [--json] | migwire check --roundtrip PATH [--migration N] [--json]',
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
rounds with pages per channel and the number of re-sent pages. Exit 0 only when no rule fails;
exit 1 when a rule fails or nothing could be checked (every channel TLS-encrypted or empty).

  --roundtrip   instead: decode every channel of PATH to the end, re-encode every record, and
                compare with the input. Exit 0 only if every byte matches; otherwise exit 1 and
                report, per channel, the first differing byte offset or the decode error.
  --json        one JSON object with the report`,
  options: { roundtrip: { type: 'boolean' }, json: { type: 'boolean' }, ...MIGRATION_OPTION },
  run: async (pos, v, out) => {
    const { checkProtocol, checkRoundTrip } = await import('../check/command.js');
    return v['roundtrip'] === true ? checkRoundTrip(pos[0]!, v['json'] === true, out, migrationOf(v['migration'])) : checkProtocol(pos[0]!, v['json'] === true, out, migrationOf(v['migration']));
  },
};
