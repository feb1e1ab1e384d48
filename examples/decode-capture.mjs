// Decode every channel of a capture and count its records by kind.
// Usage: node decode-capture.mjs CAPTURE   (a capture directory, a stream file, a .gz, or -)
import { openCapture } from '@migwire/capture';
import { decoderFor, CodecError } from '@migwire/stream-codec';

const capture = await openCapture(process.argv[2] ?? 'fixtures/10.0-multifd4-zlib');
let failed = false;
for (const ch of capture.channels) {
  const decoder = decoderFor(ch.role, { channel: ch.name });
  if (!decoder) {
    console.log(`${ch.name}: ${ch.role}, not decoded`);
    continue;
  }
  const kinds = new Map();
  const count = (record) => kinds.set(record.kind, (kinds.get(record.kind) ?? 0) + 1);
  try {
    for await (const chunk of ch.open()) decoder.write(chunk, count);
    decoder.end(count);
  } catch (err) {
    if (!(err instanceof CodecError)) throw err;
    failed = true;
    console.log(`${ch.name}: ${err.message}`);
    continue;
  }
  const summary = [...kinds].map(([kind, n]) => `${kind}=${n}`).join(' ');
  console.log(`${ch.name}: ${ch.role}, ${decoder.offset} bytes, ${summary}`);
}
process.exitCode = failed ? 1 : 0;
