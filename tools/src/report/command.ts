/**
 * `migwire report PATH --out FILE`: the analysis of @migwire/report as one self-contained HTML
 * file (or, with --json, as data), with this CLI's `check` verdict in its headline.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCapture, renderReport, type Verdict } from '@migwire/report';
import type { Output } from '../cli-io.js';
import { InputError } from '../input-error.js';

/** The transcript the recorder and the fixtures keep next to a capture. */
const SOURCE_QMP_FILE = 'qmp-src.jsonl';

async function checkVerdict(path: string, migration: number | undefined): Promise<Verdict> {
  const [{ checkCapture }, { openCapture }] = await Promise.all([import('@migwire/sync'), import('@migwire/capture')]);
  const rep = await checkCapture(await openCapture(path, { migration }));
  return {
    rules: rep.rules.map((r) => ({ id: r.id, status: r.status, detail: r.detail, ...(r.notChecked ? { notChecked: true as const } : {}), ...(r.channel ? { channel: r.channel } : {}), ...(r.offset !== undefined ? { offset: r.offset } : {}) })),
  };
}

async function qmpFor(path: string, given: string | undefined, out: Output): Promise<string | undefined> {
  const { plainFileAt } = await import('@migwire/capture');
  if (given !== undefined) {
    // A directory, pipe or device is refused here, with its path, rather than read.
    if (plainFileAt(given) === 'absent') throw new InputError(`no such QMP transcript: ${given}`);
    return given;
  }
  const beside = path !== '-' && existsSync(path) && statSync(path).isDirectory() ? join(path, SOURCE_QMP_FILE) : undefined;
  if (beside && plainFileAt(beside) === 'file') {
    out.err(`migwire: using the QMP transcript ${beside} (--qmp to choose another)`);
    return beside;
  }
  return undefined;
}

export async function report(path: string, opts: { out?: string; qmp?: string; json: boolean; migration?: number }, out: Output): Promise<number> {
  if (!opts.json && opts.out === undefined) throw new InputError('report needs --out FILE (or --json)');
  // The check and the analysis each read the input: standard input can be read only once.
  if ((await import('@migwire/capture')).isPipePath(path)) throw new InputError(`report reads its input twice and cannot take ${path === '-' ? 'standard input' : `a pipe (${path})`}: save the stream to a file first`);
  const qmpPath = await qmpFor(path, opts.qmp, out);
  const verdict = await checkVerdict(path, opts.migration);
  const analysis = await analyzeCapture(path, { ...(qmpPath ? { qmpPath } : {}), verdict, migration: opts.migration });
  for (const n of analysis.notices ?? []) out.err(`migwire: note: ${n}`);
  const text = opts.json ? JSON.stringify(analysis) : renderReport(analysis);
  if (opts.out === undefined || opts.out === '-') out.line(text);
  else {
    // Replaces an earlier report; a link planted at the path is replaced, never written through.
    const { writeOutputFile } = await import('@migwire/capture');
    writeOutputFile(opts.out, opts.json ? text + '\n' : text, { replace: true });
    out.err(`migwire: wrote ${opts.out}: ${analysis.rounds.length} rounds; ${analysis.switchover.explanation}`);
  }
  // The report is written either way (a failed migration is what it explains); the status says
  // whether the recording passed `check`, as `check` itself would.
  const failed = verdict.rules.filter((r) => r.status === 'fail');
  if (!failed.length) return 0;
  out.err(`migwire: check: FAILED (${failed.map((r) => r.id).join(', ')}): ${failed[0]!.detail}`);
  return 1;
}
