/** The report's sections as static HTML: every figure is in a table, the charts only draw them. */
import type { ReportAnalysis, RoundStats } from '../analysis/types.js';
import { msText, rateText, sizeText } from '../analysis/units.js';
import { mainMidStream } from '../analysis/partial.js';
import { capabilitiesText, streamText } from './headline.js';

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const hex = (n: number): string => '0x' + n.toString(16);
const opt = (v: number | undefined, f: (n: number) => string): string => (v === undefined ? '–' : f(v));

function table(cls: string, head: string[], rows: string[]): string {
  return `<div class="scroll"><table class="${cls}"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

/** What the reader must know before any figure (a capture that missed a channel's start). */
export function noticesSection(a: ReportAnalysis): string {
  if (!a.notices?.length) return '';
  return `<div id="notices" class="notice">${a.notices.map((n) => `<p class="note"><strong>Note:</strong> ${esc(n)}</p>`).join('')}</div>`;
}

export function headlineSection(a: ReportAnalysis): string {
  const h = a.headline;
  const facts: Array<[string, string]> = [
    ['Release', h.release ?? 'unknown'],
    ['Machine', h.machine ?? 'unknown'],
    ['Capabilities seen', capabilitiesText(h.capabilities, mainMidStream(h.channels) !== undefined)],
    ['Duration', h.durationSeconds !== undefined ? `${h.durationSeconds.toFixed(3)} s (first to last recorded byte)` : 'no arrival timing: the timeline is in MiB of the main stream'],
    ['Stream', streamText(a)],
  ];
  if (a.switchover.qemuOutcome) {
    const o = a.switchover.qemuOutcome;
    facts.push(['QEMU said (QMP)', `${o.status}${o.totalTimeMs !== undefined ? `, total ${msText(o.totalTimeMs)}` : ''}${o.downtimeMs !== undefined ? `, downtime ${msText(o.downtimeMs)}` : ''}${o.dirtySyncCount !== undefined ? `, ${o.dirtySyncCount} dirty syncs` : ''}`]);
  }
  const channels = h.channels
    .filter((c) => c.role !== 'empty')
    .map((c) => `<tr><td>${esc(c.name)}</td><td>${esc(c.role)}</td><td>${c.direction}</td><td class="num">${sizeText(c.bytes)}</td><td class="num">${c.records}</td><td>${c.skipped ? `skipped: ${esc(c.skipped)}` : c.error ? `<span class="bad">decode error at byte ${c.error.offset}: ${esc(c.error.message)}</span>` : 'decoded'}${c.midStream ? ` (captured mid-stream: from ${c.midStream.skipped} bytes into its capture)` : ''}</td></tr>`);
  return `<section id="headline"><h2>Headline</h2>
<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${esc(v)}</dd>`).join('')}</dl>
${table('channels', ['Channel', 'Role', 'Direction', 'Bytes', 'Records', 'Status'], channels)}
${verdictSection(a)}</section>`;
}

function verdictSection(a: ReportAnalysis): string {
  if (!a.verdict) return '<p class="note">No <code>check</code> verdict was given (the CLI adds it).</p>';
  const rows = a.verdict.rules.map((r) => {
    const where = r.channel ? `${esc(r.channel)}${r.offset !== undefined ? ` @ byte ${r.offset} (${hex(r.offset)})` : ''}` : '';
    const link = r.channel && r.status === 'fail' ? `<br><code>migwire dump ${esc(a.source.path)} --channel ${esc(r.channel.replace(' ', ''))} --pages</code>` : '';
    return `<tr class="rule ${r.status === 'fail' ? 'fail' : ''}" id="rule-${esc(r.id)}"><td>${r.status.toUpperCase()}</td><td>${esc(r.id)}</td><td>${esc(r.detail)}</td><td>${where}${link}</td></tr>`;
  });
  return `<h3>check verdict</h3>${table('verdict', ['', 'Rule', 'Detail', 'Where'], rows)}`;
}

export function roundsSection(a: ReportAnalysis): string {
  const rows = a.rounds.map(
    (r: RoundStats) =>
      `<tr class="round${r.partial ? ' partial' : ''}" data-round="${r.round}"><td>${r.round}${r.partial ? ' (began before the capture)' : ''}</td><td class="num">${r.pages}</td><td class="num">${opt(r.resentPages, String)}</td><td class="num">${r.zeroPages}</td><td class="num">${r.xbzrlePages}</td><td class="num">${sizeText(r.bytes)}</td><td class="num">${opt(r.bandwidth, rateText)}</td><td class="num">${opt(r.dirtyRate, rateText)}</td></tr>`,
  );
  return `<section id="rounds"><h2>Rounds</h2>
<p class="note">A round ends at a dirty sync (MULTIFD_FLUSH or RAM EOS on main, a SYNC packet on each multifd channel); round numbers are those of <code>migwire check</code>. Re-sent: pages already sent in an earlier round (the guest dirtied them again). Dirty rate: what the next round had to send over this round's time.</p>
<div class="chart" id="chart-rounds"></div><div class="chart" id="chart-rates"></div>
${table('rounds', ['Round', 'Pages', 'Re-sent', 'Zero', 'XBZRLE', 'Bytes', 'Bandwidth', 'Dirty rate'], rows)}</section>`;
}

export function switchoverSection(a: ReportAnalysis): string {
  const s = a.switchover;
  const limit = s.downtimeLimitSource === 'qmp' ? 'from the QMP transcript (the value in force at each step)' : `not known: QEMU's default ${s.downtimeLimitMs} ms assumed (give --qmp for the real one)`;
  const rows = s.steps.map(
    (st) =>
      `<tr class="step ${st.agrees ? '' : 'differs'}"><td>${st.round}</td><td class="num">${sizeText(st.pendingBytes)}</td><td class="num">${opt(st.bandwidth, rateText)}</td><td class="num">${msText(st.downtimeLimitMs)}</td><td class="num">${opt(st.thresholdBytes, sizeText)}</td><td>${esc(st.path)}${st.holdReason ? ` (${esc(st.holdReason)})` : ''}</td><td>${st.qemu}</td><td>${st.agrees ? 'same' : 'differs'}</td></tr>`,
  );
  return `<section id="switchover"><h2>Switchover model</h2>
<p class="explain">${esc(s.explanation)}</p>
<p class="note">The model of <code>@migwire/sync</code> (<code>decideSwitchover</code>) replayed after each round: pending = what the next round sent; threshold = bandwidth (source bytes over the last 100 ms) × downtime limit. Downtime limit ${limit}.</p>
${table('steps', ['After round', 'Pending', 'Bandwidth', 'Downtime limit', 'Threshold', 'Model', 'QEMU did', ''], rows)}</section>`;
}

export function postcopySection(a: ReportAnalysis): string {
  const p = a.postcopy;
  if (!p) return '';
  const lat = p.latencyMs ? `median ${msText(p.latencyMs.median)}, 90% within ${msText(p.latencyMs.p90)}, max ${msText(p.latencyMs.max)}` : 'no timing';
  return `<section id="postcopy"><h2>Postcopy</h2>
<dl class="facts"><dt>Page requests</dt><dd id="postcopy-requests">${p.requestCount} (REQ_PAGES / REQ_PAGES_ID on the return path), ${p.requestedPages} pages</dd>
<dt>Served</dt><dd>${p.servedCount}; ${p.arrivedBeforeRequest} page(s) had arrived before they were requested</dd>
<dt>Time to arrive</dt><dd>${lat}</dd>
<dt>Pages after POSTCOPY_LISTEN</dt><dd>${p.pagesOnMain} on main, ${p.pagesOnPreempt} on the preempt channel</dd></dl>
<div class="chart" id="chart-latency-hist"></div><div class="chart" id="chart-latency-time"></div></section>`;
}

export function hotPagesSection(a: ReportAnalysis): string {
  const hp = a.hotPages;
  const blocks = hp.blocks.map((b) => `<tr><td>${esc(b.block)}</td><td class="num">${b.pages}</td><td class="num">${b.sends}</td><td class="num">${b.resent}</td></tr>`);
  const ranges = hp.ranges.map((r) => `<tr class="hot-range"><td>${esc(r.block)}</td><td>${hex(r.start)}–${hex(r.end)}</td><td class="num">${r.sends}</td><td class="num">${r.perPage.toFixed(2)}</td></tr>`);
  if (hp.unknown) return `<section id="hot"><h2>Hot pages</h2><p class="note">Hot and re-sent pages: ${esc(hp.unknown)}.</p></section>`;
  return `<section id="hot"><h2>Hot pages</h2><p class="note">${hp.resentPages} pages were sent in more than one round. Ranges are ${sizeText(hp.rangeBytes)} pieces of a block, ranked by sends per page.</p>
${table('blocks', ['RAM block', 'Pages', 'Sends', 'Re-sent pages'], blocks)}
${table('ranges', ['RAM block', 'Range', 'Sends', 'Sends per page'], ranges)}</section>`;
}

export function returnPathSection(a: ReportAnalysis): string {
  const counts = Object.entries(a.returnPath.counts);
  if (counts.length === 0) return '<section id="return-path"><h2>Return path</h2><p class="note">No return-path messages in this capture.</p></section>';
  const omitted = a.timeline.markersOmitted ? ` (${a.timeline.markersOmitted} more not drawn)` : '';
  return `<section id="return-path"><h2>Return path</h2><p class="note">Each message is a tick at the bottom of the throughput chart${omitted}.</p>
${table('rp', ['Message', 'Count'], counts.map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${v}</td></tr>`))}</section>`;
}
