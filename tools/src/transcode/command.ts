/** `migwire transcode`: send a recorded migration again, over another channel layout, to a real destination. */
import { isCodecError } from '@migwire/stream-codec';
import type { Output } from '../cli-io.js';
import { TranscodeError } from '../transcode/errors.js';
import { runTranscode, type TranscodeOptions, type TranscodeReport } from '../transcode/run.js';
import { progressLine, summaryLines } from '../transcode/summary.js';

export async function transcode(path: string, o: TranscodeOptions & { quiet: boolean; json: boolean }, out: Output): Promise<number> {
  let report: TranscodeReport;
  try {
    report = await runTranscode(path, o, o.quiet ? undefined : (p) => out.err(progressLine(p)), o.quiet ? undefined : (s) => out.err(`transcode: ${s}`));
  } catch (e) {
    if (isCodecError(e) || e instanceof TranscodeError) {
      out.err(`migwire: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (o.json) out.line(JSON.stringify(report));
  else for (const l of summaryLines(report)) out.line(l);
  const rpFailed = report.returnPath?.shut !== undefined && report.returnPath.shut.status !== 0;
  // The summary is on stdout; why the transcode failed is also the error line on stderr.
  // (A return path that does not decode is already BAD_RETURN_PATH, thrown by runTranscode.)
  const why = rpFailed
    ? `the destination sent SHUT with status ${report.returnPath!.shut!.status} (it failed to load the stream)`
    : !report.destinationClosed
      ? `the destination did not close the stream within ${(o.timeoutMs ?? 60_000) / 1000} s of its end (it may not have loaded it)`
      : undefined;
  if (!why) return 0;
  out.err(`migwire: ${why}`);
  return 1;
}
