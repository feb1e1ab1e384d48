/**
 * What the `migwire` launcher (bin/migwire.js) loads: the CLI and the one place that turns an error
 * into its line and exit code. Bundled into dist/bundle/bin-entry.js by scripts/bundle-cli.mjs.
 */
export { main } from './cli.js';
export { reportError } from './errors/exit-policy.js';
