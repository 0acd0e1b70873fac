/**
 * `patchday sweep <scenario>`: the scenario's storm share x a load axis, each
 * cell run `trials` times (one real run each, one after another), optionally
 * refined where the outcome flips (--adaptive), then a table of outcome counts
 * and metastable probabilities and a phase diagram: sweep.json and sweep.html in
 * runs/<sweep-id>/. sweep.json is saved after every run: --resume continues.
 */
import type { Command } from 'commander'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadScenarioFile } from '../scenario/load.ts'
import { expandSweep, compileScenario } from '../scenario/compile.ts'
import { SWEEP_RUNS_MAX } from '../scenario/schema.ts'
import { runScenario } from './run.ts'
import { Progress } from '../progress.ts'
import { NotSteadyError, UsageError, interruption } from '../errors.ts'
import { newRunId } from '../network/launch.ts'
import { parseCount } from '../units.ts'
import { writeJsonAtomic } from '../run/dir.ts'
import { executeSweep, type CellOutcome, type CellRunner, type SweepResult } from '../sweep/execute.ts'
import type { Scenario } from '../scenario/schema.ts'
import { formatSweepTable, renderSweepHtml } from '../sweep/render.ts'
import { loadAxisLabel } from '../sweep/axis.ts'
import { defineCommand } from './command.ts'
import { runsDir, startupOptions, withStartupOptions, type StartupOptions } from './options.ts'

export type { SweepResult, SweepResultRow } from '../sweep/execute.ts'

export interface SweepArgs {
  runsDir: string
  file: string
  seed?: string
  deadlineMs: number
  bootingMax: number
  /** Stop after this many runs of the grid (for a quick look); default all. */
  limit?: number
  /** Refine the storm-share axis where the outcome flips. */
  adaptive?: { resolution: number, maxRuns: number }
  /** Continue the sweep with this id (its folder in the runs folder). */
  resume?: string
}

const RESULT_FILE = 'sweep.json'

/**
 * One real run of a variant of a scenario (a sweep cell, an ablation variant), quietly; a network
 * that never formed is a finding, not an error. Ctrl-C ends the whole experiment, not just this run.
 */
export async function runVariant (a: Pick<SweepArgs, 'runsDir' | 'file' | 'deadlineMs' | 'bootingMax'>, scenario: Scenario, seed: string, runId: string): Promise<CellOutcome> {
  try {
    const compiled = compileScenario(scenario, seed)
    const r = await runScenario({ runsDir: a.runsDir, file: a.file, runId, deadlineMs: a.deadlineMs, bootingMax: a.bootingMax, keep: false, quiet: true },
      { file: a.file, seed, scenario: { ...scenario, seed }, seedSource: 'option', compiled })
    return { verdict: r.report.verdict, recoveryS: r.report.recoveryS, hostSaturated: r.report.host.hostSaturated }
  } catch (err) {
    if (interruption(err) !== undefined) throw err
    if (err instanceof NotSteadyError) return { verdict: 'never-formed', recoveryS: null, hostSaturated: null, evidence: err.message }
    return { verdict: 'error', recoveryS: null, hostSaturated: null, error: `${(err as Error).name}: ${(err as Error).message}` }
  }
}

function scenarioRunner (a: SweepArgs): CellRunner {
  return async (cell, runId) => await runVariant(a, cell.scenario, cell.seed, runId)
}

async function readPrevious (dir: string, name: string, seed: string): Promise<SweepResult> {
  let text: string
  try {
    text = await readFile(join(dir, RESULT_FILE), 'utf8')
  } catch {
    throw new UsageError(`--resume: no ${RESULT_FILE} in ${dir}`)
  }
  let prev: SweepResult
  try {
    prev = JSON.parse(text) as SweepResult
  } catch {
    throw new UsageError(`--resume: ${join(dir, RESULT_FILE)} is not JSON; start the sweep again without --resume`)
  }
  if (prev.name !== name || prev.seed !== seed) throw new UsageError(`--resume: ${dir} is a sweep of ${prev.name} with seed ${prev.seed}, not ${name} with seed ${seed}`)
  return { ...prev, trials: prev.trials ?? 1 }
}

export async function sweep (a: SweepArgs, runner?: CellRunner): Promise<{ dir: string, result: SweepResult }> {
  const loaded = await loadScenarioFile(a.file, a.seed !== undefined ? { seed: a.seed } : {})
  const s = loaded.scenario
  if (s.sweep === undefined) throw new UsageError(`${a.file} has no sweep: section`)
  const id = a.resume ?? `sweep-${newRunId(`${s.name}-${loaded.seed}`)}`
  const dir = join(a.runsDir, id)
  const previous = a.resume !== undefined ? await readPrevious(dir, s.name, loaded.seed) : undefined
  await mkdir(dir, { recursive: true })
  const progress = new Progress()
  const grid = expandSweep(s, loaded.seed).slice(0, a.limit).length
  progress.line(`sweep ${s.name} (${id}): ${grid} runs (storm share x ${loadAxisLabel(s.sweep.load.key)}, ${s.sweep.trials} trials)${a.adaptive !== undefined ? `, then refining the storm share to ${a.adaptive.resolution} (at most ${a.adaptive.maxRuns} more runs)` : ''}, seed ${loaded.seed}`)
  const save = async (r: SweepResult): Promise<void> => { await writeJsonAtomic(join(dir, RESULT_FILE), r) }
  const result = await executeSweep({
    scenario: s,
    seed: loaded.seed,
    id,
    runner: runner ?? scenarioRunner(a),
    save,
    progress,
    ...(a.limit !== undefined ? { limit: a.limit } : {}),
    ...(a.adaptive !== undefined ? { adaptive: a.adaptive } : {}),
    ...(previous !== undefined ? { previous } : {})
  })
  await save(result)
  await writeFile(join(dir, 'sweep.html'), renderSweepHtml(result))
  progress.line(formatSweepTable(result))
  return { dir, result }
}

interface SweepOptions extends StartupOptions { seed?: string, limit?: string, adaptive?: boolean, resolution: string, maxRuns: string, resume?: string }

export const sweepCommand = defineCommand({
  name: 'sweep',
  description: 'run a scenario\'s sweep (storm share x load, repeated trials) into a probability table and a phase diagram',
  options: cmd => {
    cmd
      .argument('<scenario>', 'scenario file with a sweep: section, e.g. scenarios/sweep-2007.yaml')
      .option('--seed <seed>', 'override the scenario\'s seed')
      .option('--limit <n>', 'run only the first N runs of the grid (no refinement)')
      .option('--adaptive', 'after the grid, run more storm shares where the outcome flips, until the boundary is located to --resolution')
      .option('--resolution <share>', 'adaptive: locate the boundary to within this much storm share', '0.05')
      .option('--max-runs <n>', 'adaptive: at most this many runs beyond the grid', '60')
      .option('--resume <sweep-id>', 'continue a stopped sweep (its folder name in the runs folder), reusing the runs that finished')
    return withStartupOptions(cmd, 'start-up deadline of each run')
  },
  action: async (file: string, o: SweepOptions, cmd: Command) => {
    const resolution = Number(o.resolution)
    if (!(resolution > 0 && resolution < 0.5)) throw new UsageError(`--resolution: a storm share in (0, 0.5), got ${JSON.stringify(o.resolution)}`)
    const r = await sweep({
      runsDir: runsDir(cmd),
      file,
      ...startupOptions(o),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.limit !== undefined ? { limit: parseCount(o.limit, '--limit', 1, 10_000) } : {}),
      ...(o.adaptive === true ? { adaptive: { resolution, maxRuns: parseCount(o.maxRuns, '--max-runs', 1, SWEEP_RUNS_MAX) } } : {}),
      ...(o.resume !== undefined ? { resume: o.resume } : {})
    })
    process.stdout.write(`${r.dir}/sweep.html\n`)
  }
})
