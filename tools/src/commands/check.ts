/** `migwire check`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { MIGRATION_OPTION, migrationOf } from './migration-option.js';
import { RULE_SUMMARIES } from '@migwire/sync/rule-summaries';
import { INPUT_HELP } from './input-help.js';

/** One line per rule (wrapped under its name), from the rules' own summaries. */
function ruleLines(): string {
  const width = 27;
  return Object.entries(RULE_SUMMARIES)
    .map(([id, text]) => {
      const lines: string[] = [];
      let line = '';
      for (const word of text.split(' ')) {
        if (line && width + 2 + line.length + 1 + word.length > 100) {
          lines.push(line);
          line = word;
        } else line = line ? `${line} ${word}` : word;
      }
      lines.push(line);
      return lines.map((l, k) => `  ${(k === 0 ? id : '').padEnd(width)}${l}`).join('\n');
    })
    .join('\n');
}

export const check: CommandSpec = {
  summary: 'prove (or disprove) the multi-channel rules on a recording; --roundtrip: byte-exact re-encode',
  usage: 'migwire check PATH [--migration N] [--json] | migwire check --roundtrip PATH [--migration N] [--json]',
  help: `${INPUT_HELP}

Without --roundtrip, decodes every channel and checks, with the arrival times in chunks.csv:
${ruleLines()}
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
