// Prove (or disprove) the protocol rules of a recorded migration with @migwire/sync: multifd
// channel ids, packet numbers, one SYNC per channel per flush, round order, the postcopy guard,
// PING/PONG, page requests served, switchover-ack. The same rules `migwire check` prints.
// Usage: node check-capture.mjs CAPTURE
import { openCapture } from '@migwire/capture';
import { checkCapture } from '@migwire/sync';

const capture = await openCapture(process.argv[2] ?? 'fixtures/10.0-multifd4-zlib');
const report = await checkCapture(capture);
for (const rule of report.rules) {
  const where = rule.channel ? ` [${rule.channel}${rule.offset === undefined ? '' : ` @ byte ${rule.offset}`}]` : '';
  console.log(`${rule.status.padEnd(4)} ${rule.id.padEnd(26)} ${rule.detail}${where}`);
}
console.log(`${report.rounds.length} rounds; ${report.ok ? 'every rule holds' : 'FAILED'}`);
process.exitCode = report.ok ? 0 : 1;
