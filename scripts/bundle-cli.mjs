#!/usr/bin/env node
// Bundles the compiled CLI (tools/dist/src, and the @migwire packages it uses) into
// tools/dist/bundle: a command then loads a handful of files instead of about a hundred ES
// modules, each resolved and read on its own (start-up ~35 ms shorter). The commands' code still
// loads only when they run (split chunks). bin/migwire.js uses the bundle while it is newer than
// the last TypeScript build, so a `tsc -b` alone never runs stale code.
//
// esbuild-wasm: esbuild compiled to WebAssembly, no native binary to download.
import { build } from 'esbuild-wasm';
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tools = join(root, 'tools');
const out = join(tools, 'dist', 'bundle');

// Workers are started by URL (new URL('./name.js', import.meta.url)), which a bundler does not
// follow: each is an entry of its own, at the bundle's root under its own file name, where the
// code that starts it (flattened there too) looks for it.
const entryPoints = {
  'bin-entry': join(tools, 'dist/src/bin-entry.js'),
  'page-run-worker': join(root, 'packages/capture/dist/src/decode/page-runs/page-run-worker.js'),
  'hash-worker': join(root, 'packages/capture/dist/src/open/hash-worker.js'),
  'fuzz-codec-worker': join(tools, 'dist/src/fuzz/codec/fuzz-codec-worker.js'),
};

// Left to Node at run time: its own modules, and the packages loaded by path or holding files of
// their own (fzstd through createRequire, zstd-wasm's .wasm). The CLI package declares each.
const toolsPkg = JSON.parse(readFileSync(join(tools, 'package.json'), 'utf8'));
const external = ['fzstd', '@bokuweb/zstd-wasm'];
for (const name of external) {
  if (!toolsPkg.dependencies?.[name]) throw new Error(`bundle-cli: ${name} stays outside the bundle, so tools/package.json must depend on it`);
}

rmSync(out, { recursive: true, force: true });
const result = await build({
  entryPoints,
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  external: [...external, ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
  // CommonJS packages (node-forge) call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __migwireCreateRequire } from 'node:module'; const require = __migwireCreateRequire(import.meta.url);" },
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});

// Every worker URL in the output names a file the bundle holds.
for (const f of readdirSync(out)) {
  const text = readFileSync(join(out, f), 'utf8');
  for (const m of text.matchAll(/new URL\(["']\.\/([^"']+)["'],\s*import\.meta\.url\)/g)) {
    if (!existsSync(join(out, m[1]))) throw new Error(`bundle-cli: ${f} starts ${m[1]}, which the bundle lacks`);
  }
}
const files = Object.keys(result.metafile.outputs).length;
const inputs = Object.keys(result.metafile.inputs).length;
console.log(`bundle-cli: ${inputs} modules -> ${files} files in ${out.slice(root.length + 1)}`);
