#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled TypeScript. main() reports its own errors; what
// escapes it (an error thrown from an event handler) gets the same one line and exit code.
import { main } from '../dist/src/cli.js';
import { reportError } from '../dist/src/errors/exit-policy.js';

const fatal = (err) => {
  process.exitCode = reportError(err, (line) => process.stderr.write(`${line}\n`));
  process.exit();
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, fatal);
