/**
 * `migwire report PATH --out FILE`: the analysis of @migwire/report as one self-contained HTML
 * file (or, with --json, as data), with this CLI's `check` verdict in its headline.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { analyzeCapture, renderReport, type Verdict } from '@migwire/report';
import type { Output } from '../cli-io.js';
import { InputError } from '../input-error.js';
import { MIGRATION_OPTION, migrationOf } from './migration-option.js';

/** The transcript the recorder and the fixtures keep next to a capture. */
const SOURCE_QMP_FILE = 'qmp-src.jsonl';

async function checkVerdict(path: string, migration: number | undefined): Promise<Verdict> {
  const { checkRules } = await import('../check/rules.js');
  const rep = await checkRules(path, migration);
  return {
    rules: rep.rules.map((r) => ({ id: r.rule, status: r.status, detail: r.detail, ...(r.channel ? { channel: r.channel } : {}), ...(r.offset !== undefined ? { offset: r.offset } : {}) })),
  };
}

function qmpFor(path: string, given: string | undefined, out: Output): string | undefined {
  if (given !== undefined) {
    if (!existsSync(given)) throw new InputError(`no such QMP transcript: ${given}`);
    return given;
  }
  const beside = path !== '-' && existsSync(path) && statSync(path).isDirectory() ? join(path, SOURCE_QMP_FILE) : undefined;
  if (beside && existsSync(beside)) {
    out.err(`migwire: using the QMP transcript ${beside} (--qmp to choose another)`);
    return beside;
  }
  return undefined;
}

export async function report(path: string, opts: { out?: string; qmp?: string; json: boolean; migration?: number }, out: Output): Promise<number> {
  if (!opts.json && opts.out === undefined) throw new InputError('report needs --out FILE (or --json)');
  const qmpPath = qmpFor(path, opts.qmp, out);
  const verdict = await checkVerdict(path, opts.migration);
  const analysis = await analyzeCapture(path, { ...(qmpPath ? { qmpPath } : {}), verdict, migration: opts.migration });
  const text = opts.json ? JSON.stringify(analysis) : renderReport(analysis);
  if (opts.out === undefined || opts.out === '-') out.line(text);
  else {
    writeFileSync(opts.out, opts.json ? text + '\n' : text);
    out.err(`migwire: wrote ${opts.out}: ${analysis.rounds.length} rounds; ${analysis.switchover.explanation}`);
  }
  return 0;
}

export const REPORT_COMMAND = {
  summary: 'one self-contained HTML file that shows a migration and explains why it converged (or not)',
  usage: 'migwire report PATH --out FILE [--qmp FILE] [--migration N] [--json]',
  help: `Decodes every channel once (bounded memory) and writes one HTML file that needs no network to
view: the headline (release, machine, capabilities, bytes per channel, duration, the \`check\`
verdict), throughput per channel over time with rounds, SWITCHOVER_START, POSTCOPY_LISTEN/RUN, the
end and return-path messages marked; per round pages sent, re-sent and zero, bytes, dirty rate
against bandwidth; the switchover model of @migwire/sync replayed per round next to what QEMU did,
with a sentence that explains the outcome; postcopy page requests and how long each page took;
hot pages.

Options:
  --out FILE    where to write the HTML (or the JSON with --json); - for standard output
  --qmp FILE    the source's QMP transcript (JSON lines {"t","dir","msg"}): the downtime limit in
                force and QEMU's query-migrate answers. Default: PATH/${SOURCE_QMP_FILE} when there;
                without one QEMU's default downtime limit (300 ms) is assumed, and the report says so
  --json        the analysis as one JSON object instead of HTML
  --migration N PATH is a pcap/pcapng holding several migrations: report migration N`,
  options: { out: { type: 'string' }, qmp: { type: 'string' }, json: { type: 'boolean' }, ...MIGRATION_OPTION } satisfies NonNullable<ParseArgsConfig['options']>,
  run: (pos: string[], v: Record<string, string | boolean | string[] | undefined>, out: Output): Promise<number> =>
    report(pos[0]!, { json: v['json'] === true, migration: migrationOf(v['migration']), ...(typeof v['out'] === 'string' ? { out: v['out'] } : {}), ...(typeof v['qmp'] === 'string' ? { qmp: v['qmp'] } : {}) }, out),
};
