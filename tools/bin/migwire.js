#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled TypeScript.
import { main } from '../dist/src/cli.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`migwire: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 2;
  },
);
