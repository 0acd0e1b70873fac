/**
 * `patchday sweep <scenario>`: the scenario's storm share x a load axis, each
 * cell run `trials` times (one real run each, one after another), then a table
 * and a phase diagram of recovered / degraded / metastable: sweep.json and
 * sweep.html in runs/<sweep-id>/.
 */
import type { Command } from 'commander'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadScenarioFile } from '../scenario/load.ts'
import { expandSweep, compileScenario, type SweepCell } from '../scenario/compile.ts'
import { runScenario } from './run.ts'
import { Progress } from '../progress.ts'
import { UsageError, interruption } from '../errors.ts'
import { newRunId } from '../network/launch.ts'
import { formatDuration, parseCount } from '../units.ts'
import type { Verdict } from '../analysis/verdict.ts'
import { defineCommand } from './command.ts'
import { runsDir, startupOptions, withStartupOptions, type StartupOptions } from './options.ts'

export interface SweepArgs {
  runsDir: string
  file: string
  seed?: string
  deadlineMs: number
  bootingMax: number
  /** Stop after this many runs (for a quick look); default all. */
  limit?: number
}

export interface SweepResultRow {
  stormShare: number
  load: number
  trial: number
  seed: string
  runId: string
  verdict: Verdict | 'error'
  recoveryS: number | null
  hostSaturated: boolean | null
  error?: string
}

export interface SweepResult {
  name: string
  seed: string
  loadKey: string
  stormShares: number[]
  loads: number[]
  rows: SweepResultRow[]
}

export async function sweep (a: SweepArgs): Promise<{ dir: string, result: SweepResult }> {
  const loaded = await loadScenarioFile(a.file, a.seed !== undefined ? { seed: a.seed } : {})
  const s = loaded.scenario
  if (s.sweep === undefined) throw new UsageError(`${a.file} has no sweep: section`)
  const cells: SweepCell[] = expandSweep(s, loaded.seed).slice(0, a.limit)
  const id = `sweep-${newRunId(`${s.name}-${loaded.seed}`)}`
  const dir = join(a.runsDir, id)
  await mkdir(dir, { recursive: true })
  const progress = new Progress()
  progress.line(`sweep ${s.name}: ${cells.length} runs (storm share x ${s.sweep.load.key}, ${s.sweep.trials} trials), seed ${loaded.seed}`)
  const result: SweepResult = { name: s.name, seed: loaded.seed, loadKey: s.sweep.load.key, stormShares: s.sweep.stormShares, loads: s.sweep.load.values, rows: [] }
  const t0 = Date.now()
  for (const [i, cell] of cells.entries()) {
    const runId = `${id}-${i + 1}`
    progress.line(`[${i + 1}/${cells.length}] ${cell.label} (elapsed ${formatDuration(Date.now() - t0)})`)
    const row: SweepResultRow = { stormShare: cell.stormShare, load: cell.load, trial: cell.trial + 1, seed: cell.seed, runId, verdict: 'error', recoveryS: null, hostSaturated: null }
    try {
      const compiled = compileScenario(cell.scenario, cell.seed)
      const r = await runScenario({ runsDir: a.runsDir, file: a.file, runId, deadlineMs: a.deadlineMs, bootingMax: a.bootingMax, keep: false, quiet: true },
        { file: a.file, seed: cell.seed, scenario: { ...cell.scenario, seed: cell.seed }, seedSource: 'option', compiled })
      row.verdict = r.report.verdict
      row.recoveryS = r.report.recoveryS
      row.hostSaturated = r.report.host.hostSaturated
    } catch (err) {
      // Ctrl-C ends the sweep, not just this run.
      if (interruption(err) !== undefined) throw err
      row.error = `${(err as Error).name}: ${(err as Error).message}`
    }
    progress.line(`  -> ${row.verdict}${row.recoveryS !== null ? `, recovery ${row.recoveryS.toFixed(1)} s` : ''}${row.hostSaturated === true ? ' (host saturated)' : ''}${row.error !== undefined ? ` ${row.error}` : ''}`)
    result.rows.push(row)
    await writeFile(join(dir, 'sweep.json'), JSON.stringify(result, null, 2))
  }
  await writeFile(join(dir, 'sweep.html'), renderSweepHtml(result))
  progress.line(formatSweepTable(result))
  return { dir, result }
}

const ORDER: Array<Verdict | 'error'> = ['recovered', 'degraded', 'metastable', 'error']

function cellRows (r: SweepResult, share: number, load: number): SweepResultRow[] {
  return r.rows.filter(x => x.stormShare === share && x.load === load)
}

/** Per cell: counts of each verdict, e.g. `2R` / `1R 1M`. */
export function cellLabel (rows: SweepResultRow[]): string {
  if (rows.length === 0) return '-'
  return ORDER.map(v => [v, rows.filter(x => x.verdict === v).length] as const).filter(([, n]) => n > 0)
    .map(([v, n]) => `${n}${v === 'error' ? 'E' : v[0]?.toUpperCase() ?? '?'}`).join(' ')
}

export function formatSweepTable (r: SweepResult): string {
  const head = [`storm share \\ ${r.loadKey}`, ...r.loads.map(String)]
  const lines = [head.join('\t')]
  for (const share of r.stormShares) lines.push([String(share), ...r.loads.map(l => cellLabel(cellRows(r, share, l)))].join('\t'))
  return lines.join('\n') + '\n(R recovered, D degraded, M metastable, E error: runs per verdict)'
}

const COLOR: Record<string, string> = { recovered: '#2e7d32', degraded: '#f9a825', metastable: '#c62828', error: '#757575' }

export function renderSweepHtml (r: SweepResult): string {
  const esc = (t: string): string => t.replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c)
  const cell = (share: number, load: number): string => {
    const rows = cellRows(r, share, load)
    const worst = [...rows].sort((a, b) => ORDER.indexOf(b.verdict) - ORDER.indexOf(a.verdict))[0]
    const bg = worst === undefined ? '#fff' : COLOR[worst.verdict] ?? '#fff'
    const title = rows.map(x => `trial ${x.trial}: ${x.verdict}${x.recoveryS !== null ? ` (${x.recoveryS.toFixed(1)} s)` : ''} ${x.runId}`).join('\n')
    return `<td style="background:${bg};color:#fff;text-align:center;padding:14px" title="${esc(title)}">${esc(cellLabel(rows))}</td>`
  }
  const rowsHtml = [...r.stormShares].reverse().map(share => `<tr><th>${share}</th>${r.loads.map(l => cell(share, l)).join('')}</tr>`).join('\n')
  const detail = r.rows.map(x => `<tr><td>${x.stormShare}</td><td>${x.load}</td><td>${x.trial}</td><td>${x.verdict}</td><td>${x.recoveryS === null ? '' : x.recoveryS.toFixed(1)}</td><td>${x.hostSaturated === true ? 'yes' : ''}</td><td>${esc(x.runId)}</td></tr>`).join('\n')
  return `<!doctype html><html><head><meta charset="utf-8"><title>patchday sweep ${esc(r.name)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:6px 10px}</style></head><body>
<h1>Sweep ${esc(r.name)}</h1><p>seed ${esc(r.seed)}. Each cell: runs per verdict (R recovered, D degraded, M metastable); colour: the worst outcome of the cell.</p>
<h2>Phase diagram: storm share (rows) x ${esc(r.loadKey)} (columns)</h2>
<table><tr><th>share \\ ${esc(r.loadKey)}</th>${r.loads.map(l => `<th>${l}</th>`).join('')}</tr>
${rowsHtml}</table>
<h2>Runs</h2><table><tr><th>storm share</th><th>${esc(r.loadKey)}</th><th>trial</th><th>verdict</th><th>recovery s</th><th>host saturated</th><th>run</th></tr>
${detail}</table></body></html>
`
}

interface SweepOptions extends StartupOptions { seed?: string, limit?: string }

export const sweepCommand = defineCommand({
  name: 'sweep',
  description: 'run a scenario\'s sweep (storm share x load, repeated trials) into a table and a phase diagram',
  options: cmd => {
    cmd
      .argument('<scenario>', 'scenario file with a sweep: section, e.g. scenarios/sweep-2007.yaml')
      .option('--seed <seed>', 'override the scenario\'s seed')
      .option('--limit <n>', 'run only the first N runs of the sweep')
    return withStartupOptions(cmd, 'start-up deadline of each run')
  },
  action: async (file: string, o: SweepOptions, cmd: Command) => {
    const r = await sweep({
      runsDir: runsDir(cmd),
      file,
      ...startupOptions(o),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.limit !== undefined ? { limit: parseCount(o.limit, '--limit', 1, 10_000) } : {})
    })
    process.stdout.write(`${r.dir}/sweep.html\n`)
  }
})
