/**
 * The files inlined into every report: uPlot (read from its npm package at run time, so the
 * report needs no network to view) and this package's own page script and style.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface ReportAssets {
  uplotJs: string;
  uplotCss: string;
  clientJs: string;
  css: string;
  uplotVersion: string;
}

let cached: ReportAssets | undefined;

export function reportAssets(): ReportAssets {
  if (cached) return cached;
  // Found from this package's own package.json (by name, not by this file's place: the CLI runs
  // this code from its bundle), and uPlot from there.
  const ownPkg = createRequire(import.meta.url).resolve('@migwire/report/package.json');
  const pkgPath = createRequire(ownPkg).resolve('uplot/package.json');
  const uplotDir = join(dirname(pkgPath), 'dist');
  const own = join(dirname(ownPkg), 'assets');
  cached = {
    uplotJs: readFileSync(join(uplotDir, 'uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(join(uplotDir, 'uPlot.min.css'), 'utf8'),
    clientJs: readFileSync(join(own, 'client.js'), 'utf8'),
    css: readFileSync(join(own, 'report.css'), 'utf8'),
    uplotVersion: (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version,
  };
  return cached;
}
