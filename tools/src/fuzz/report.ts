/** Human-readable reports of the codec and QEMU campaigns (the --json forms are the objects themselves). */
import type { CodecStats } from './codec/campaign.js';
import { OUTCOMES, type QemuCampaignReport } from './qemu/campaign.js';

const pad = (s: string | number, n: number): string => String(s).padStart(n);

export function codecReportLines(s: CodecStats): string[] {
  const rate = s.inputs / (s.ms / 1000);
  const out = [`codec fuzz: ${s.inputs} inputs in ${(s.ms / 1000).toFixed(1)} s, ${rate.toFixed(0)} inputs/s`];
  if (s.counted !== undefined && s.counted !== s.inputs) out.push(`(${s.counted} in the counts below: workers stopped for a hang take their last few inputs' counts with them)`);
  out.push('');
  out.push(`${'decoder'.padEnd(14)}${pad('inputs', 10)}${pad('decoded', 10)}${pad('errors', 10)}${pad('MB fed', 10)}${pad('max held', 10)}${pad('slowest ms', 12)}`);
  const codes = new Map<string, Record<string, number>>();
  for (const [name, d] of Object.entries(s.decoders)) {
    const errors = d.inputs - d.decoded;
    out.push(`${name.padEnd(14)}${pad(d.inputs, 10)}${pad(d.decoded, 10)}${pad(errors, 10)}${pad((d.bytes / 1e6).toFixed(0), 10)}${pad(d.maxHeld, 10)}${pad(d.maxMs.toFixed(1), 12)}`);
    for (const [code, n] of Object.entries(d.errors)) (codes.get(code) ?? codes.set(code, {}).get(code)!)[name] = n;
  }
  out.push(`multifd pages: ${s.pages.packets} packets' pages produced; page decoder errors: ${Object.entries(s.pages.errors).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`);
  out.push('', 'error codes:');
  const rows = [...codes.entries()].map(([code, by]) => ({ code, by, total: Object.values(by).reduce((a, b) => a + b, 0) })).sort((a, b) => b.total - a.total);
  for (const r of rows) out.push(`  ${r.code.padEnd(26)}${pad(r.total, 9)}   ${Object.entries(r.by).map(([d, n]) => `${d} ${n}`).join(', ')}`);
  out.push('', `reset(): checked after ${s.resetChecks} errors${s.findings.some((f) => f.type === 'reset') ? '' : '; every reset decoder decoded its seed again'}`);
  out.push(`slowest input: ${s.slowest.ms.toFixed(1)} ms (${s.slowest.seed}, seed ${s.slowest.n}, ${s.slowest.kind ?? 'unmutated'})`);
  if (!s.findings.length) out.push('findings: none (every input ended in records or a CodecError)');
  else {
    out.push(`findings: ${s.findings.length}`);
    for (const f of s.findings.slice(0, 50)) out.push(`  ${f.type.padEnd(9)} ${f.decoder} ${f.seed} seed ${f.n} ${f.kind ?? ''}: ${f.message.split('\n')[0]}`);
  }
  return out;
}

export function qemuReportLines(r: QemuCampaignReport): string[] {
  const out = [`qemu fuzz: ${r.inputs} inputs against ${r.qemu.versionString} in ${(r.ms / 1000).toFixed(0)} s (${(r.inputs / (r.ms / 1000)).toFixed(1)} inputs/s)`, ''];
  out.push(`${'mutation kind'.padEnd(26)}${pad('inputs', 8)}${OUTCOMES.map((o) => pad(o, 10)).join('')}`);
  const kinds = Object.keys(r.byKind).sort();
  for (const k of kinds) {
    const c = r.byKind[k]!;
    const n = OUTCOMES.reduce((a, o) => a + c[o], 0);
    out.push(`${k.padEnd(26)}${pad(n, 8)}${OUTCOMES.map((o) => pad(c[o], 10)).join('')}`);
  }
  out.push(`${'total'.padEnd(26)}${pad(r.inputs, 8)}${OUTCOMES.map((o) => pad(r.outcomes[o], 10)).join('')}`);
  if (r.topMessages.length) {
    out.push('', 'most frequent rejections (numbers folded to #):');
    for (const m of r.topMessages) out.push(`  ${pad(m.count, 6)}  ${m.message.slice(0, 160)}`);
  }
  out.push('');
  if (!r.findings.length) out.push('crashes and hangs: none');
  for (const f of r.findings) {
    out.push(`${f.outcome.toUpperCase()} input ${f.index} (${f.seed}, seed ${f.n}, ${f.mutation?.kind ?? 'unmutated'} ${f.mutation?.path ?? ''}): ${f.message}`);
    if (f.minimisedFile) out.push(`  minimised to ${f.minimisedBytes} bytes: ${f.minimisedFile}`);
    if (f.reproduce) out.push(`  reproduce: ${f.reproduce}`);
  }
  return out;
}
