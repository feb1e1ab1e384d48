/**
 * The floor for `check`: open a stream as the CLI does and decode every record of every channel,
 * page payloads included, doing nothing with them (what any check must at least do).
 *   node bench/dist/decode-only.js PATH
 */
import { decodeCapture, openCapture } from '@migwire/capture';

const results = await decodeCapture(await openCapture(process.argv[2]!), { onRecord: () => {} });
const failed = results.find((r) => r.error);
if (failed) {
  console.error(`decode-only: ${failed.error!.message}`);
  process.exit(1);
}
