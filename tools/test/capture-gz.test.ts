/** A gzipped capture (as the committed fixtures travel) decodes and round-trips byte for byte through the CLI. */
import test from 'ava';
import { join } from 'node:path';
import { main, MemoryOutput } from '../src/index.js';
import { SHARED_CAPTURES } from './paths.js';

test('a gzipped capture decodes and round-trips byte for byte', async (t) => {
  const o = new MemoryOutput();
  t.is(await main(['check', '--roundtrip', join(SHARED_CAPTURES, '10.0-c-multifd4-zstd')], o), 0, o.lines.join('\n'));
  t.regex(o.lines.join('\n'), /multifd 3 .* ok/);
});
