/**
 * `patchday ablate <scenario>`: the scenario (its faults on) once per fix
 * alone, per fix left out, with none and with all, `--trials` times each (trial
 * t of every variant shares the seed `<seed>-t<t>`), into a table of outcomes
 * and recovery times and which fixes suffice alone and which are necessary.
 * runs/<ablation-id>/ablation.json is saved after every run: --resume continues.
 */
import type { Command } from 'commander'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadScenarioFile } from '../scenario/load.ts'
import { compileScenario } from '../scenario/compile.ts'
import { ablationPlan, applyFixes, eraFixes, fixesOf, findings, formatAblation, summarize, type AblationRow, type AblationVariant } from '../scenario/ablation.ts'
import { MODEL_NAMES, MODELS, type ModelSelection } from '../scenario/models.ts'
import { Progress } from '../progress.ts'
import { UsageError } from '../errors.ts'
import { newRunId } from '../network/launch.ts'
import { formatDuration, parseCount } from '../units.ts'
import { writeJsonAtomic } from '../run/dir.ts'
import type { CellOutcome } from '../sweep/execute.ts'
import type { Scenario } from '../scenario/schema.ts'
import { defineCommand } from './command.ts'
import { runVariant } from './sweep.ts'
import { runsDir, startupOptions, withStartupOptions, type StartupOptions } from './options.ts'

const RESULT_FILE = 'ablation.json'
export const ABLATION_TRIALS_MAX = 20

export interface AblationResult {
  name: string
  seed: string
  trials: number
  fixes: ModelSelection
  variants: AblationVariant[]
  rows: AblationRow[]
}

export type VariantRunner = (scenario: Scenario, seed: string, runId: string) => Promise<CellOutcome>

export interface AblateArgs {
  runsDir: string
  file: string
  /** A scenario whose fix models (with their parameters) are the fixes; default: every fix of the faults' era. */
  fixesFile?: string
  seed?: string
  trials: number
  deadlineMs: number
  bootingMax: number
  resume?: string
}

function eraOf (s: Scenario): 2007 | 2010 {
  const eras = MODEL_NAMES.filter(n => s.models[n] !== undefined && MODELS[n].kind === 'fault').map(n => MODELS[n].era)
  return eras.includes(2010) && !eras.includes(2007) ? 2010 : 2007
}

async function readPrevious (dir: string, name: string, seed: string, trials: number): Promise<AblationResult> {
  let prev: AblationResult
  try {
    prev = JSON.parse(await readFile(join(dir, RESULT_FILE), 'utf8')) as AblationResult
  } catch {
    throw new UsageError(`--resume: no readable ${RESULT_FILE} in ${dir}`)
  }
  if (prev.name !== name || prev.seed !== seed || prev.trials !== trials) throw new UsageError(`--resume: ${dir} is an ablation of ${prev.name}, seed ${prev.seed}, ${prev.trials} trials; not ${name}, seed ${seed}, ${trials} trials`)
  return prev
}

export async function ablate (a: AblateArgs, runner?: VariantRunner): Promise<{ dir: string, result: AblationResult }> {
  const loaded = await loadScenarioFile(a.file, a.seed !== undefined ? { seed: a.seed } : {})
  const s = loaded.scenario
  const fixes = a.fixesFile !== undefined ? fixesOf((await loadScenarioFile(a.fixesFile)).scenario.models) : eraFixes(eraOf(s))
  const names = MODEL_NAMES.filter(n => fixes[n] !== undefined)
  if (names.length === 0) throw new UsageError(`${a.fixesFile ?? a.file}: no fix models to ablate`)
  const variants = ablationPlan(names)
  // Every variant must be a valid scenario before the first run starts; each is built once.
  const scenarios = new Map(variants.map(v => {
    const sc = applyFixes(s, fixes, v.fixes)
    try {
      compileScenario(sc, loaded.seed)
    } catch (err) {
      throw new UsageError(`variant ${v.id}: ${(err as Error).message}`)
    }
    return [v.id, sc] as const
  }))
  const id = a.resume ?? `ablation-${newRunId(`${s.name}-${loaded.seed}`)}`
  const dir = join(a.runsDir, id)
  const previous = a.resume !== undefined ? await readPrevious(dir, s.name, loaded.seed, a.trials) : undefined
  await mkdir(dir, { recursive: true })
  const result: AblationResult = previous ?? { name: s.name, seed: loaded.seed, trials: a.trials, fixes, variants, rows: [] }
  const run = runner ?? (async (sc, seed, runId) => await runVariant(a, sc, seed, runId))
  const progress = new Progress()
  const todo = variants.flatMap(v => Array.from({ length: a.trials }, (_, t) => ({ v, t })))
  const isDone = (v: AblationVariant, t: number): boolean => result.rows.some(r => r.variant === v.id && r.trial === t + 1 && r.verdict !== 'error')
  const left = todo.filter(x => !isDone(x.v, x.t))
  progress.line(`ablation of ${s.name} (${id}): fixes ${names.join(', ')}; ${variants.length} variants x ${a.trials} trials = ${todo.length} runs${left.length < todo.length ? `, ${todo.length - left.length} done already` : ''}, seed ${loaded.seed}`)
  let spent = 0
  for (const [i, { v, t }] of left.entries()) {
    const seed = `${loaded.seed}-t${t + 1}`
    const runId = `${id}-${v.id.replace(':', '-')}-t${t + 1}`
    progress.line(`[${i + 1}/${left.length}] ${v.id} trial ${t + 1}${i > 0 ? `; about ${formatDuration((left.length - i) * spent / i)} left` : ''}`)
    const t0 = Date.now()
    const out = await run(scenarios.get(v.id) as Scenario, seed, runId)
    spent += Date.now() - t0
    result.rows = result.rows.filter(r => !(r.variant === v.id && r.trial === t + 1))
    result.rows.push({ variant: v.id, fixes: v.fixes, trial: t + 1, seed, runId, ...out })
    progress.line(`  -> ${out.verdict}${out.recoveryS !== null ? `, recovery ${out.recoveryS.toFixed(1)} s` : ''}${out.evidence !== undefined ? `: ${out.evidence}` : ''}${out.error !== undefined ? ` ${out.error}` : ''}`)
    await writeJsonAtomic(join(dir, RESULT_FILE), result)
  }
  await writeJsonAtomic(join(dir, RESULT_FILE), result)
  const summary = summarize(variants, result.rows)
  progress.line(formatAblation(names, summary))
  await writeJsonAtomic(join(dir, 'ablation-summary.json'), { summary, findings: findings(names, summary) })
  return { dir, result }
}

interface AblateOptions extends StartupOptions { fixes?: string, seed?: string, trials: string, resume?: string }

export const ablateCommand = defineCommand({
  name: 'ablate',
  description: 'run a scenario with no fix, all fixes, each fix alone and all but each, several trials each: which fix suffices, which are necessary',
  options: cmd => {
    cmd
      .argument('<scenario>', 'scenario with the faults on, e.g. scenarios/skype-2007.yaml')
      .option('--fixes <scenario>', 'take the fixes and their parameters from this scenario\'s models (e.g. scenarios/skype-2007-tuned.yaml); default: every fix of the faults\' era with its defaults')
      .option('--trials <n>', 'runs per variant', '3')
      .option('--seed <seed>', 'override the scenario\'s seed')
      .option('--resume <ablation-id>', 'continue a stopped ablation (its folder name in the runs folder), reusing the runs that finished')
    return withStartupOptions(cmd, 'start-up deadline of each run')
  },
  action: async (file: string, o: AblateOptions, cmd: Command) => {
    const r = await ablate({
      runsDir: runsDir(cmd),
      file,
      trials: parseCount(o.trials, '--trials', 1, ABLATION_TRIALS_MAX),
      ...startupOptions(o),
      ...(o.fixes !== undefined ? { fixesFile: o.fixes } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.resume !== undefined ? { resume: o.resume } : {})
    })
    process.stdout.write(`${r.dir}/${RESULT_FILE}\n`)
  }
})

