/**
 * The floor for `extract`: write BYTES bytes into a new sparse image of SIZE bytes at PATH, 4 MiB
 * at a time (what any tool must at least do to put the same image bytes into the same folder).
 *   node bench/dist/write-floor.js PATH BYTES SIZE
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';

const [path, bytes, size] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const fd = openSync(path, 'wx');
ftruncateSync(fd, size);
const block = Buffer.alloc(4 * 1024 * 1024, 0x5a);
for (let at = 0; at < bytes; at += block.length) writeSync(fd, block, 0, Math.min(block.length, bytes - at), at);
closeSync(fd);
