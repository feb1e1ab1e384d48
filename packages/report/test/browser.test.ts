/**
 * Reports of real captures rendered in real headless Chromium (Debian package `chromium`,
 * installed by .ci/install-qemu.sh): no script error, the charts drawn with the capture's data,
 * and a screenshot kept next to the compiled test (dist/test/screenshots/).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { analyzeCapture, renderReport } from '../src/index.js';
import { fixture, sourceQmp } from './fixtures.js';

const CHROMIUM = 'chromium';
const available = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).status === 0;
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');

function chromium(url: string, extra: string[]): { stdout: string; stderr: string } {
  const profile = mkdtempSync(join(tmpdir(), 'migwire-chromium-'));
  try {
    const args = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      '--virtual-time-budget=5000',
      '--enable-logging=stderr',
      '--v=0',
      ...extra,
      url,
    ];
    const r = spawnSync(CHROMIUM, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr.slice(-2000)}`);
    return { stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

const attr = (dom: string, id: string, name: string): string | undefined => {
  const el = new RegExp(`<[^>]*id="${id}"[^>]*>`).exec(dom)?.[0];
  return el ? new RegExp(`${name}="([^"]*)"`).exec(el)?.[1] : undefined;
};

const CASES = [
  { name: '10.0-multifd4-zlib', charts: 3 },
  { name: '10.0-xbzrle-exec', charts: 2 },
  { name: '10.0-g-postcopy-preempt', charts: 5 },
];

if (!available && process.env['CI'] !== 'true') {
  test.skip('report in headless chromium (chromium not installed)', () => {});
} else {
  test('chromium is installed (CI installs it with .ci/install-qemu.sh)', (t) => {
    t.true(available, 'chromium not found on PATH');
  });
  for (const c of CASES) {
    test(`${c.name}: the report renders in chromium without a script error, charts drawn from the capture`, async (t) => {
      if (!available) return t.fail('chromium not found on PATH');
      const a = await analyzeCapture(fixture(c.name), { qmpPath: sourceQmp(c.name) });
      const dir = mkdtempSync(join(tmpdir(), 'migwire-report-'));
      const file = join(dir, 'report.html');
      writeFileSync(file, renderReport(a));
      const url = pathToFileURL(file).href;
      const { stdout: dom, stderr } = chromium(url, ['--dump-dom']);
      t.notRegex(stderr, /Uncaught|CONSOLE\(\d+\)\][^\n]*[Ee]rror/);
      t.notRegex(dom, /<html[^>]*data-script-error/);
      t.is(attr(dom, 'chart-rounds', 'data-rounds'), String(a.rounds.length));
      t.is(dom.match(/<tr class="round"/g)?.length, a.rounds.length);
      t.is(/<body[^>]*data-charts-drawn="(\d+)"/.exec(dom)?.[1], String(c.charts));
      t.true((dom.match(/<canvas/g)?.length ?? 0) >= c.charts);
      t.true(Number(attr(dom, 'chart-throughput', 'data-points')) > 0);
      t.is(Number(attr(dom, 'chart-throughput', 'data-markers')), a.timeline.markers.length);
      if (a.postcopy) t.is(attr(dom, 'chart-latency-time', 'data-points'), String(a.postcopy.requests.filter((q) => q.latencyMs !== undefined).length));

      mkdirSync(SHOTS, { recursive: true });
      const shot = join(SHOTS, `${c.name}.png`);
      chromium(url, [`--screenshot=${shot}`, '--window-size=1400,2400', '--hide-scrollbars']);
      t.true(statSync(shot).size > 20_000);
      rmSync(dir, { recursive: true, force: true });
    });
  }
}
