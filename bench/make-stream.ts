/** `node bench/dist/make-stream.js [MiB]`: make the bench's real QEMU stream in .cache/bench now. */
import { realQemuStream } from './qemu-stream.js';
import { WORK } from './paths.js';

const memMiB = Number(process.argv[2] ?? 1024);
const s = await realQemuStream(WORK, memMiB, (m) => console.error(m));
console.log(s ? `${s.path}: ${s.origin}` : 'QEMU 10.0 is not installed');
