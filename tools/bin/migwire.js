#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled TypeScript. main() reports its own errors; what
// escapes it (an error thrown from an event handler) gets the same one line and exit code.
import { statSync } from 'node:fs';

/**
 * The bundle (dist/bundle, scripts/bundle-cli.mjs) starts faster than the compiled modules it is
 * made of; it is used unless a TypeScript build came after it (tsc -b rewrites
 * dist/tsconfig.tsbuildinfo), which would leave it stale. An installed package has no build info.
 */
function bundleIsCurrent() {
  let bundled;
  try {
    bundled = statSync(new URL('../dist/bundle/bin-entry.js', import.meta.url)).mtimeMs;
  } catch {
    return false;
  }
  try {
    return bundled >= statSync(new URL('../dist/tsconfig.tsbuildinfo', import.meta.url)).mtimeMs;
  } catch {
    return true;
  }
}

const { main, reportError } = bundleIsCurrent() ? await import('../dist/bundle/bin-entry.js') : await import('../dist/src/bin-entry.js');

const fatal = (err) => {
  process.exitCode = reportError(err, (line) => process.stderr.write(`${line}\n`));
  process.exit();
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

// Node leaves when nothing is left to wait for, even with main() unfinished (a promise nothing will
// settle): that must not pass for success.
let finished = false;
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  process.stderr.write('migwire: internal error: the command stopped before it finished (nothing left to wait for); please report it\n');
  process.exitCode = 1;
});

main(process.argv.slice(2)).then(
  (code) => {
    finished = true;
    process.exitCode = code;
  },
  (err) => {
    finished = true;
    fatal(err);
  },
);
