// Accept migration connections on loopback and name each channel from its first bytes, as QEMU's
// destination does. To show it without QEMU, this program also plays the source: it connects once
// per channel of a recorded capture and sends that channel's first bytes.
// Usage: node identify-channels.mjs [CAPTURE]
import { connect } from 'node:net';
import { once } from 'node:events';
import { MigrationAcceptor } from '@migwire/channel-manager';
import { openCapture, readHead } from '@migwire/capture';

const capture = await openCapture(process.argv[2] ?? 'fixtures/10.0-multifd4-zlib');
const sources = capture.channels.filter((ch) => ch.direction === 'src2dst' && ch.path);
const multifd = sources.filter((ch) => ch.role === 'multifd').length;

const acceptor = new MigrationAcceptor({ multifdChannels: multifd });
const { port } = await acceptor.listen(0, '127.0.0.1');
const named = [];
acceptor.on('channel', (ch) => {
  named.push(ch);
  console.log(`connection ${ch.connection}: ${ch.role}${ch.multifdId === undefined ? '' : ` (multifd id ${ch.multifdId})`}`);
  ch.socket.destroy();
});
acceptor.on('error', (err) => console.log(`refused: ${err.message}`));
const established = once(acceptor, 'established');

// One connection after another, main first, as QEMU's source connects.
for (const ch of sources) {
  const head = readHead(ch.path, 64);
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.end(head);
  while (named.length < sources.indexOf(ch) + 1) await new Promise((r) => setTimeout(r, 5));
}
await established;
console.log(`all ${named.length} channels established`);
await acceptor.close();
