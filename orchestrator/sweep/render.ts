/**
 * A sweep's result as a text table and an HTML phase diagram (pure): per cell,
 * runs per outcome and the probability of the metastable outcome with its 95%
 * interval; the diagram is a heat map of that probability, and an adaptive
 * sweep adds the boundary found at each load.
 */
import { cellStats, countsLabel, metastableLabel, type CellStats } from './stats.ts'
import type { SweepResult, SweepResultRow } from './execute.ts'

export function cellRows (r: SweepResult, share: number, load: number): SweepResultRow[] {
  return r.rows.filter(x => x.stormShare === share && x.load === load)
}

export function statsOf (rows: readonly SweepResultRow[]): CellStats {
  return cellStats(rows.map(x => x.verdict))
}

/** Per cell: runs per outcome, e.g. `2R` / `1R 1M`. */
export function cellLabel (rows: readonly SweepResultRow[]): string {
  return rows.length === 0 ? '-' : countsLabel(statsOf(rows))
}

/** Shares with at least one run (a refined share appears only at the loads it was run for). */
function sharesRun (r: SweepResult): number[] {
  return r.stormShares.filter(s => r.rows.some(x => x.stormShare === s))
}

export function formatBoundaries (r: SweepResult): string[] {
  return (r.adaptive?.boundaries ?? []).map(b => `${r.loadKey}=${b.load}: ${b.below !== null && b.above !== null ? `boundary in (${b.below}, ${b.above}] of storm share${b.resolved ? '' : ', not resolved'}` : 'no boundary in the tested range'}: ${b.why}`)
}

export function formatSweepTable (r: SweepResult): string {
  const head = [`storm share \\ ${r.loadLabel}`, ...r.loads.map(String)]
  const lines = [head.join('\t')]
  for (const share of sharesRun(r)) {
    lines.push([String(share), ...r.loads.map(l => {
      const rows = cellRows(r, share, l)
      return rows.length === 0 ? '-' : `${cellLabel(rows)} | ${metastableLabel(statsOf(rows))}`
    })].join('\t'))
  }
  lines.push('(runs per outcome: R recovered, D degraded, M metastable, N never formed before the storm, E error; then the metastable share of the trials that formed, with its 95% interval)')
  return [...lines, ...formatBoundaries(r)].join('\n')
}

const esc = (t: string): string => t.replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c)

/** Green (0) through amber to red (1); grey when no trial formed. */
export function heatColour (share: number | null): string {
  if (share === null) return '#757575'
  const mix = (a: number, b: number, t: number): number => Math.round(a + (b - a) * t)
  const [from, to, t] = share < 0.5 ? [[46, 125, 50], [249, 168, 37], share * 2] as const : [[249, 168, 37], [198, 40, 40], share * 2 - 1] as const
  return `rgb(${mix(from[0], to[0], t)},${mix(from[1], to[1], t)},${mix(from[2], to[2], t)})`
}

export function renderSweepHtml (r: SweepResult): string {
  const cell = (share: number, load: number): string => {
    const rows = cellRows(r, share, load)
    if (rows.length === 0) return '<td style="text-align:center">-</td>'
    const s = statsOf(rows)
    const title = rows.map(x => `trial ${x.trial}: ${x.verdict}${x.recoveryS !== null ? ` (${x.recoveryS.toFixed(1)} s)` : ''}${x.evidence !== undefined ? ` (${x.evidence})` : ''} ${x.runId}`).join('\n')
    return `<td style="background:${heatColour(s.metastable.share)};color:#fff;text-align:center;padding:12px" title="${esc(title)}">${esc(metastableLabel(s))}<br><small>${esc(cellLabel(rows))}</small></td>`
  }
  const rowsHtml = [...sharesRun(r)].reverse().map(share => `<tr><th>${share}</th>${r.loads.map(l => cell(share, l)).join('')}</tr>`).join('\n')
  const detail = r.rows.map(x => `<tr><td>${x.stormShare}</td><td>${x.load}</td><td>${x.trial}</td><td>${x.verdict}${x.refined === true ? ' (refined)' : ''}</td><td>${x.recoveryS === null ? '' : x.recoveryS.toFixed(1)}</td><td>${x.hostSaturated === true ? 'yes' : ''}</td><td>${esc(x.evidence ?? x.error ?? '')}</td><td>${esc(x.runId)}</td></tr>`).join('\n')
  const boundaries = formatBoundaries(r)
  return `<!doctype html><html><head><meta charset="utf-8"><title>patchday sweep ${esc(r.name)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:6px 10px}</style></head><body>
<h1>Sweep ${esc(r.name)}</h1><p>seed ${esc(r.seed)}, ${r.trials} trial(s) per cell. Each cell: the share of its trials that ended metastable, among those whose network formed, with its 95% interval (Wilson); below it, runs per outcome (R recovered, D degraded, M metastable, N never formed before the storm, E error). Colour: green 0%, amber 50%, red 100%; grey: no trial formed.</p>
<h2>Phase diagram: storm share (rows) x ${esc(r.loadLabel)} (columns)</h2>
<table><tr><th>share \\ ${esc(r.loadLabel)}</th>${r.loads.map(l => `<th>${l}</th>`).join('')}</tr>
${rowsHtml}</table>
${boundaries.length > 0 ? `<h2>Boundary (adaptive, resolution ${r.adaptive?.resolution ?? ''})</h2><ul>${boundaries.map(b => `<li>${esc(b)}</li>`).join('')}</ul>` : ''}
<h2>Runs</h2><table><tr><th>storm share</th><th>${esc(r.loadLabel)}</th><th>trial</th><th>outcome</th><th>recovery s</th><th>host saturated</th><th>evidence</th><th>run</th></tr>
${detail}</table></body></html>
`
}
