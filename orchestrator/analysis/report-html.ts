/**
 * report.html: one self-contained file (no network fetches) that opens from a
 * run folder or a CI artifact. Chart.js's UMD bundle is inlined; the report's
 * data is embedded as JSON and drawn in the browser. Each storm's window is shaded
 * on every chart and the recovery point marked, by a small inline plugin.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Report } from './report.ts'

/** `compose (container restarts, host network)`: the runtime with how it restarted peers and, for containers, their network. */
export function runtimeWords (r: Pick<Report, 'runtime' | 'restartMode' | 'network'>): string {
  const how = [...(r.restartMode !== null ? [`${r.restartMode} restarts`] : []), ...(r.network !== null ? [`${r.network} network`] : [])]
  return how.length === 0 ? r.runtime : `${r.runtime} (${how.join(', ')})`
}

/**
 * Path of Chart.js's UMD bundle in node_modules. The package's `exports` map
 * does not export dist/chart.umd.js, so resolve its main entry (dist/chart.cjs)
 * and take the sibling.
 */
export function chartJsPath (): string {
  return join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js')
}

export async function loadChartJs (): Promise<string> {
  return await readFile(chartJsPath(), 'utf8')
}

export function escapeHtml (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** JSON safe inside a <script> element: no `</script>`, no `<!--`. */
export function jsonForScript (value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
}

const x = (v: number | null, digits = 1, unit = ''): string => v === null ? 'n/a' : `${v.toFixed(digits)}${unit}`

function header (r: Report): string {
  const a = r.amplification
  const row = (name: string, f: Report['amplification']['signalling'], unit: string): string =>
    `<tr><td>${name}</td><td>${x(f.baseline, 2)} ${unit}</td><td>${x(f.mean, 2)}</td><td>${x(f.meanRatio, 1, 'x')}</td><td>${x(f.peakRatio, 1, 'x')}</td><td>~${f.measured2007}x</td></tr>`
  return `<header>
<h1>patchday run ${escapeHtml(r.runId)}${r.scenario === null ? '' : ` — ${escapeHtml(r.scenario)}`}</h1>
<p class="verdict ${r.verdict}">${r.verdict.toUpperCase()}</p>
<ul class="reasons">${r.reasons.map(s => `<li>${escapeHtml(s)}</li>`).join('')}</ul>
<table class="facts">
<tr><th>seed</th><td>${escapeHtml(r.seed)}</td><th>runtime</th><td>${escapeHtml(runtimeWords(r))}</td><th>time scale</th><td>${r.timeScale}</td></tr>
<tr><th>recovery</th><td>${r.recoveryS === null ? 'never' : `${x(r.recoveryS)} s real (${x(r.recoveryEmulatedS)} s emulated)`}</td>
<th>baseline</th><td>${x(r.baseline.online)} online of ${r.peers}</td><th>end</th><td>${x(r.endOnline)} online (${r.endShare === null ? 'n/a' : `${Math.round(r.endShare * 100)}%`})</td></tr>
<tr><th>storm</th><td>${r.windows.stormS === null ? 'none (calm run)' : `${x(r.windows.stormS.from)}–${x(r.windows.stormS.to)} s`}</td>
<th>host</th><td colspan="3">${escapeHtml(r.host.note)}</td></tr>
</table>
<h2>Amplification (${a.window} window ${x(a.windowS.from, 0)}–${x(a.windowS.to, 0)} s against baseline ${x(a.baselineS.from, 0)}–${x(a.baselineS.to, 0)} s)</h2>
<table class="amp"><tr><th>per client</th><th>baseline</th><th>window mean</th><th>mean ratio</th><th>peak ratio</th><th>2007 measured</th></tr>
${row('signalling (msgs/s)', a.signalling, 'msgs/s')}
${row('distinct peers contacted (per interval)', a.peersContacted, 'peers')}
</table>
${stormsTable(r)}
</header>`
}

/** Each storm judged on its own (a history of patch days); nothing for a run with one storm or none. */
function stormsTable (r: Report): string {
  if (r.storms.length < 2) return ''
  const rows = r.storms.map(st => `<tr><td>${escapeHtml(st.id)}</td><td><span class="verdict ${st.verdict}">${st.verdict}</span></td>` +
    `<td>${x(st.stormS.from, 0)}–${x(st.stormS.to, 0)} s</td><td>${st.recoveryS === null ? 'never' : `${x(st.recoveryS)} s`}</td>` +
    `<td>${x(st.baselineOnline)}</td><td>${x(st.endOnline)}${st.endShare === null ? '' : ` (${Math.round(st.endShare * 100)}%)`}</td>` +
    `<td>${x(st.amplification.signalling.meanRatio, 1, 'x')}</td><td>${x(st.amplification.peersContacted.meanRatio, 1, 'x')}</td></tr>`).join('\n')
  return `<h2>Each storm on its own (judged from the calm before it to the next storm)</h2>
<table class="storms"><tr><th>storm</th><th>verdict</th><th>window</th><th>recovery</th><th>online before</th><th>online at the next storm (end)</th><th>signalling</th><th>peers contacted</th></tr>
${rows}
</table>`
}

/** The charts, drawn in the browser from the embedded JSON. Plain ES5-ish JS: no build step. */
const CHARTS_JS = String.raw`
// What a headless browser can read back (test/system/report-browser.test.ts): errors, and how many charts drew anything.
window.addEventListener('error', e => { document.body.dataset.errors = (document.body.dataset.errors || '') + String(e.message) + '; '; });
const R = JSON.parse(document.getElementById('report-data').textContent);
const S = R.series;
const storm = R.windows.stormS;
// One shaded band per storm, labelled with its id and, in a history, its own verdict.
const bands = (R.storms && R.storms.length > 0)
  ? R.storms.map(st => ({ from: st.stormS.from, to: st.stormS.to, label: R.storms.length > 1 ? st.id + ': ' + st.verdict : 'storm' }))
  : (storm === null ? [] : [{ from: storm.from, to: storm.to, label: 'storm' }]);
const recoveredAt = R.recoveryS === null ? null : R.windows.triggerEndS + R.recoveryS;
const marks = {
  id: 'marks',
  beforeDatasetsDraw(chart) {
    const { ctx, chartArea: a, scales: { x } } = chart;
    ctx.save();
    for (const b of bands) {
      const x0 = x.getPixelForValue(b.from), x1 = x.getPixelForValue(b.to);
      ctx.fillStyle = 'rgba(220, 60, 60, 0.12)';
      ctx.fillRect(x0, a.top, Math.max(1, x1 - x0), a.bottom - a.top);
      ctx.fillStyle = 'rgba(180, 40, 40, 0.9)';
      ctx.fillText(b.label, x0 + 3, a.top + 10);
    }
    if (recoveredAt !== null && bands.length < 2) {
      const xr = x.getPixelForValue(recoveredAt);
      ctx.strokeStyle = 'rgba(30, 140, 60, 0.9)';
      ctx.setLineDash([4, 3]);
      ctx.beginPath(); ctx.moveTo(xr, a.top); ctx.lineTo(xr, a.bottom); ctx.stroke();
      ctx.fillStyle = 'rgba(30, 140, 60, 0.9)';
      ctx.fillText('recovered', xr + 3, a.top + 22);
    }
    ctx.restore();
  }
};
const COLORS = ['#1f77b4', '#d62728', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#7f7f7f'];
function points(values) { return S.t.map((t, i) => ({ x: t, y: values[i] })); }
function chart(id, title, series, yTitle, extra) {
  const datasets = series.map((s, i) => Object.assign({
    label: s[0], data: points(s[1]), borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length],
    borderWidth: 1.5, pointRadius: 0, spanGaps: true, stepped: s[2] === 'step'
  }, s[3] || {}));
  new Chart(document.getElementById(id), {
    type: 'line',
    data: { datasets },
    options: Object.assign({
      animation: false, maintainAspectRatio: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      plugins: { title: { display: true, text: title } },
      scales: { x: { type: 'linear', title: { display: true, text: 'seconds since start (real)' } }, y: { beginAtZero: true, title: { display: true, text: yTitle } } }
    }, extra || {}),
    plugins: [marks]
  });
}
const base = S.t.map(() => R.baseline.online);
const target = S.t.map(() => R.baseline.online * R.thresholds.recoverShare);
chart('c-online', 'Peers online and attaching', [['online', S.online, 'step'], ['attaching', S.attaching, 'step'], ['baseline', base, '', { borderDash: [2, 2] }], ['recovery target', target, '', { borderDash: [6, 3] }]], 'peers');
chart('c-sn', 'Supernodes', [['supernodes', S.supernodes, 'step']], 'supernodes');
chart('c-cps', 'Clients per supernode', [['median', S.clientsPerSnMedian, 'step'], ['max', S.clientsPerSnMax, 'step']], 'clients');
chart('c-attach', 'Attach outcomes per bucket', [['ok', S.attachOk], ['busy', S.attachBusy], ['timeout', S.attachTimeout], ['other', S.attachOther]], 'attaches');
chart('c-login', 'Login outcomes per bucket', [['ok', S.loginOk], ['rejected', S.loginRejected], ['busy', S.loginBusy], ['timeout', S.loginTimeout], ['other', S.loginOther]], 'logins');
chart('c-latency', 'Login latency', [['p50', S.loginP50Ms], ['p99', S.loginP99Ms]], 'ms');
chart('c-queue', 'Login queue: longest wait of a login served', [['queue wait', S.loginQueueMs || []]], 'ms');
chart('c-msgs', 'Messages per client per second', [['msgs/client/s', S.msgsPerClientS]], 'msgs/s');
chart('c-peers', 'Distinct peers contacted per client per interval', [['peers/client', S.peersPerClient]], 'peers');
chart('c-host', 'Host CPU and load', [['CPU busy %', S.hostCpuBusy.map(v => v === null ? null : v * 100)], ['load1', S.hostLoad1, '', { yAxisID: 'y1' }]], 'CPU %', {
  scales: { x: { type: 'linear', title: { display: true, text: 'seconds since start (real)' } }, y: { min: 0, max: 100, title: { display: true, text: 'CPU busy %' } }, y1: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'load1' } } }
});
// A chart drew if its canvas has any pixel that is not transparent (Chart.js draws on load: animation is off).
document.body.dataset.chartsDrawn = String([...document.querySelectorAll('canvas')].filter(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
  return false;
}).length);
`

const CSS = `body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.2em}
.verdict{display:inline-block;padding:.2em .8em;border-radius:4px;font-weight:bold;color:#fff}.recovered{background:#2a8a3e}.degraded{background:#c98a00}.metastable{background:#b3261e}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:1em}.grid div{height:300px}`

const CHART_IDS = ['c-online', 'c-sn', 'c-cps', 'c-attach', 'c-login', 'c-latency', 'c-queue', 'c-msgs', 'c-peers', 'c-host']

/** The whole page. `chartJs` is the UMD bundle's source (loadChartJs()). */
export function renderReportHtml (report: Report, chartJs: string): string {
  // A literal "</script" inside the bundle would end the element early; today's bundle has none.
  const bundle = chartJs.replace(/<\/script/gi, '<\\/script')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>patchday ${escapeHtml(report.runId)}: ${report.verdict}</title>
<style>${CSS}</style></head>
<body>
${header(report)}
<div class="grid">${CHART_IDS.map(id => `<div><canvas id="${id}"></canvas></div>`).join('')}</div>
<script type="application/json" id="report-data">${jsonForScript(report)}</script>
<script>${bundle}</script>
<script>${CHARTS_JS}</script>
</body></html>
`
}
