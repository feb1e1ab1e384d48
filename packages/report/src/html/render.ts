/** renderReport(analysis): one self-contained HTML file (uPlot, script, style and data inlined). */
import type { ReportAnalysis } from '../analysis/types.js';
import { reportAssets } from './assets.js';
import { headlineText } from './headline.js';
import { esc, headlineSection, noticesSection, hotPagesSection, postcopySection, returnPathSection, roundsSection, switchoverSection } from './sections.js';

/** JSON inside <script>: nothing in it may close the element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function renderReport(a: ReportAnalysis): string {
  const assets = reportAssets();
  const text = headlineText(a);
  const unit = a.timeline.unit === 's' ? 'seconds on the capture clock' : 'MiB into the main stream (a file has no arrival times)';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>migwire report: ${esc(a.source.path)}</title>
<style>${assets.uplotCss}</style>
<style>${assets.css}</style>
<script>window.addEventListener('error', function (e) { document.documentElement.setAttribute('data-script-error', String(e.message)); });</script>
</head><body>
<header><h1>Migration report</h1><p class="source"><code>${esc(a.source.path)}</code>${a.source.qmp ? ` with QMP <code>${esc(a.source.qmp)}</code>` : ''}</p>
<p id="headline-text">${esc(text)}</p>
${noticesSection(a)}
<noscript><p class="note">Charts need JavaScript; every figure they draw is also in the tables below.</p></noscript></header>
<main>
${headlineSection(a)}
<section id="timeline"><h2>Throughput per channel</h2><p class="note">Bytes per second per channel over ${unit}; rounds, SWITCHOVER_START, POSTCOPY_LISTEN/RUN and the end are marked, return-path messages are ticks at the bottom.</p><div class="chart" id="chart-throughput"></div></section>
${roundsSection(a)}
${switchoverSection(a)}
${postcopySection(a)}
${hotPagesSection(a)}
${returnPathSection(a)}
</main>
<footer>migwire report · charts by uPlot ${esc(assets.uplotVersion)} (MIT), inlined · no network needed to view</footer>
<script type="application/json" id="migwire-data">${scriptJson(a)}</script>
<script>${assets.uplotJs}</script>
<script>${assets.clientJs}</script>
</body></html>
`;
}
