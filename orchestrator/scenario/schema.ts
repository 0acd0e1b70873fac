/**
 * The scenario file: a test as data (Jepsen), interpreted by `patchday run` and
 * `patchday sweep`. Every field is validated before anything starts; an unknown
 * field is an error. All durations are text (`20s`, `500ms`, `2m`) in
 * *emulated* time: the runner multiplies them by `timeScale` (real seconds per
 * emulated second), as peers do with their settings (one exception: a storm's
 * `grace`, the real time a process gets to exit after SIGTERM). Settings and model
 * parameters are numbers in the settings' own units (ms where the name ends in Ms).
 *
 *   name:         lower-case id (a-z, 0-9, . _ -)
 *   description:  what the scenario shows and what it is expected to show
 *   seed:         optional; else generated (and printed) by the runner
 *   timeScale:    real seconds per emulated second (0.25: four times faster than life)
 *   peers:        count, bootstrap (supernodes from the start), capableShare, reachableShare,
 *                 rampUp (the peers' first boots spread over this long, like users arriving)
 *   settings:     PeerConfig keys (node/contract/config.ts) for every peer and the login server
 *   models:       fault models and fixes by name (models.ts)
 *   armFaults:    when the fault models' settings take effect: `steady` (default: once the network
 *                 formed, before the warm-up), `warmup-end` (just before the timeline), or `start`
 *                 (from the first boot, as before issue 9: a fault may then fire while the network forms)
 *   warmup:       time from `up` being steady to the timeline's 0
 *   storms:       [{ at, expect?, ...storm fields (orchestrator/storm/spec.ts) }], at = offset from the end of
 *                 warm-up; each storm is also judged on its own (analysis/storms.ts), `expect` is its own verdict
 *   injections:   [{ at, count, slots }]: dedicated high-capacity supernodes (2010's mega-supernodes)
 *   joins:        [{ at, count, over }]: the user population grows: `count` new peers (the last of the
 *                 plan, provisioned up front, never bootstrap) make their first boots spread over `over`
 *                 (default 0: at once), from `at`; the login server's capacity stays as it is
 *   observe:      length of the timeline from the end of warm-up; the verdict judges its end.
 *                 Every storm (at + window + longest boot delay), injection and join (at + over) must fit in it.
 *   crashRestart: optional boot delay: users restart a crashed peer after this long
 *                 (absent: a crashed peer stays down)
 *   verdict:      optional thresholds for the analysis: recoveredShare (online back to this share
 *                 of pre-storm), metastableShare (below it at the end: metastable), recoveryDeadline
 *   expect:       optional: the verdict the scenario is meant to get (recovered | degraded | metastable)
 *   sweep:        optional: { storm, stormShare: [x...], load: { key, values }, trials }: the storm's
 *                 share of peers x a load axis (`peers` for peers.count, a setting key such as
 *                 loginRatePerS, or `offeredLoad`), `trials` runs per cell.
 *                 `offeredLoad` (values > 0, e.g. 0.25..2): the users' arrival rate during the ramp-up
 *                 (peers.count / rampUp) over the login server's capacity (min(loginConcurrencyMax x 1000 /
 *                 loginServiceMs, loginRatePerS)); each cell sets loginServiceMs to realise its value and keeps
 *                 the peers and the ramp-up, so the storm's burst meets a proportionally smaller or larger
 *                 login server too (offered-load.ts). It needs a rampUp; the rate limit must not bind at any
 *                 value; a model may not set the login capacity's settings; the scenario's own loginServiceMs
 *                 is replaced in every cell.
 */
import { z } from 'zod'
import { PEERS_MAX } from '../network/plan.ts'
import { formatDuration } from '../units.ts'
import type { PeerConfig, ConfigKey } from '../../node/contract/config.ts'
import { durationField, shareField, bootDelayField } from '../storm/fields.ts'
import { stormFields, checkStormFields, toStormSpec } from '../storm/spec.ts'
import { shapeWindowMs, type StormSpec } from '../storm/plan.ts'
import { bootDelayBounds, type BootDelay } from '../storm/boot-delay.ts'
import { parseTargetSpec } from '../storm/targets.ts'
import { settingsField, settingProblem } from './settings.ts'
import { modelsField, modelKeys, MODELS, MODEL_NAMES, type ModelSelection } from './models.ts'
import { CAPACITY_KEYS, OFFERED_LOAD, OfferedLoadError, arrivalRatePerS, serviceMsForOfferedLoad, type LoginDemand } from './offered-load.ts'

export const STORMS_MAX = 20
export const INJECTIONS_MAX = 20
export const JOINS_MAX = 20
export const SWEEP_VALUES_MAX = 20
export const TRIALS_MAX = 20
export const SWEEP_RUNS_MAX = 400
export const VERDICTS = ['recovered', 'degraded', 'metastable'] as const
export const ARM_FAULTS = ['steady', 'warmup-end', 'start'] as const
export type ArmFaults = (typeof ARM_FAULTS)[number]
const SEED = /^[A-Za-z0-9._-]{1,40}$/
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/

export interface ScenarioStorm {
  atMs: number
  storm: StormSpec
  /** The verdict this storm alone is meant to get (a history of patch days: each judged on its own). */
  expect?: (typeof VERDICTS)[number]
}
export interface Injection { atMs: number, count: number, slots: number }
/** `count` peers join from `atMs`, their first boots spread evenly over `overMs` (emulated ms). */
export interface Join { atMs: number, count: number, overMs: number }
/** `peers`: peers.count; `offeredLoad`: arrivals over login capacity, realised by loginServiceMs (offered-load.ts); else a setting. */
export type LoadKey = 'peers' | typeof OFFERED_LOAD | ConfigKey
export interface Sweep {
  /** Id of the storm whose share varies. */
  storm: string
  stormShares: number[]
  load: { key: LoadKey, values: number[] }
  trials: number
}
export interface VerdictThresholds { recoveredShare?: number, metastableShare?: number, recoveryDeadlineMs?: number }

export interface Scenario {
  name: string
  description: string
  seed?: string
  timeScale: number
  peers: { count: number, bootstrap?: number, capableShare?: number, reachableShare?: number, rampUpMs?: number }
  settings: Partial<PeerConfig>
  models: ModelSelection
  armFaults: ArmFaults
  warmupMs: number
  observeMs: number
  storms: ScenarioStorm[]
  injections: Injection[]
  joins: Join[]
  crashRestart?: BootDelay
  verdict?: VerdictThresholds
  expect?: (typeof VERDICTS)[number]
  sweep?: Sweep
}

const count = (max: number): z.ZodNumber => z.number().int().min(1).max(max)

const stormEntry = z.strictObject({ at: durationField, expect: z.enum(VERDICTS).optional(), ...stormFields }).superRefine(checkStormFields)

const raw = z.strictObject({
  name: z.string().regex(NAME, 'expected a lower-case id (a-z, 0-9, . _ -)'),
  description: z.string().min(1).max(4000),
  seed: z.preprocess(v => typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v, z.string().regex(SEED, 'expected 1-40 letters, digits, dots, dashes or underscores')).optional(),
  timeScale: z.number().min(0.001).max(100),
  peers: z.strictObject({
    count: count(PEERS_MAX),
    bootstrap: count(PEERS_MAX).optional(),
    capableShare: shareField.optional(),
    reachableShare: shareField.optional(),
    rampUp: durationField.optional()
  }),
  settings: settingsField.default({}),
  models: z.preprocess(v => v === null ? {} : v, modelsField).default({}),
  armFaults: z.enum(ARM_FAULTS).default('steady'),
  warmup: durationField,
  storms: z.array(stormEntry).max(STORMS_MAX).default([]),
  injections: z.array(z.strictObject({ at: durationField, count: count(100), slots: count(100_000) })).max(INJECTIONS_MAX).default([]),
  joins: z.array(z.strictObject({ at: durationField, count: count(PEERS_MAX), over: durationField.default(0) })).max(JOINS_MAX).default([]),
  observe: durationField.refine(ms => ms > 0, 'must be longer than 0'),
  crashRestart: bootDelayField.optional(),
  verdict: z.strictObject({ recoveredShare: shareField.optional(), metastableShare: shareField.optional(), recoveryDeadline: durationField.optional() }).optional(),
  expect: z.enum(VERDICTS).optional(),
  sweep: z.strictObject({
    storm: z.string().optional(),
    stormShare: z.array(shareField).min(1).max(SWEEP_VALUES_MAX),
    load: z.strictObject({ key: z.string(), values: z.array(z.number()).min(1).max(SWEEP_VALUES_MAX) }),
    trials: count(TRIALS_MAX)
  }).optional()
})
type Raw = z.output<typeof raw>

const stormId = (r: Raw, i: number): string => r.storms[i]?.id ?? `storm-${i + 1}`
const joinCount = (r: Raw): number => r.joins.reduce((n, j) => n + j.count, 0)

function crossCheck (r: Raw, ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string): void => { ctx.addIssue({ code: 'custom', path, message }) }
  if (r.peers.bootstrap !== undefined && r.peers.bootstrap > r.peers.count) issue(['peers', 'bootstrap'], `more than peers.count (${r.peers.count})`)
  const ids = new Set<string>()
  r.storms.forEach((s, i) => {
    const id = stormId(r, i)
    if (ids.has(id)) issue(['storms', i, 'id'], `storm id ${id} is used twice`)
    ids.add(id)
    const spec = toStormSpec(s, id)
    const lastMs = s.at + shapeWindowMs(spec.shape) + bootDelayBounds(spec.bootDelay).maxMs
    if (lastMs > r.observe) issue(['storms', i, 'at'], `the storm may last until ${formatDuration(lastMs)} (at + window + longest boot delay), after the end of observe (${formatDuration(r.observe)})`)
  })
  r.injections.forEach((inj, i) => { if (inj.at > r.observe) issue(['injections', i, 'at'], `after the end of observe (${formatDuration(r.observe)})`) })
  r.joins.forEach((j, i) => {
    if (j.at > r.observe) issue(['joins', i, 'at'], `after the end of observe (${formatDuration(r.observe)})`)
    else if (j.at + j.over > r.observe) issue(['joins', i, 'over'], `the join lasts until ${formatDuration(j.at + j.over)} (at + over), after the end of observe (${formatDuration(r.observe)})`)
  })
  const joining = joinCount(r)
  if (joining > 0 && r.peers.count + joining > PEERS_MAX) issue(['joins'], `${r.peers.count} peers and ${joining} joining make ${r.peers.count + joining}; at most ${PEERS_MAX} in all`)
  if (r.verdict?.recoveredShare !== undefined && r.verdict.metastableShare !== undefined && r.verdict.metastableShare > r.verdict.recoveredShare) {
    issue(['verdict', 'metastableShare'], 'must not exceed recoveredShare')
  }
  const stall = r.models['promotion-stall']
  if (stall !== undefined) {
    const minUptimeMs = stall.minUptimeMs ?? MODELS['promotion-stall'].defaults.minUptimeMs
    if (minUptimeMs >= r.warmup) issue(['models', 'promotion-stall', 'minUptimeMs'], `must be shorter than the warm-up (${formatDuration(r.warmup)}): else no peer ever qualifies and the model is a switch, not a mechanism`)
  }
  if (r.sweep !== undefined) checkSweep(r, r.sweep, issue)
}

function checkSweep (r: Raw, sweep: NonNullable<Raw['sweep']>, issue: (path: PropertyKey[], message: string) => void): void {
  const ids = r.storms.map((_, i) => stormId(r, i))
  let target: number
  if (sweep.storm === undefined) {
    if (ids.length !== 1) { issue(['sweep', 'storm'], `required: name one of the ${ids.length} storms (${ids.join(', ') || 'none'})`); return }
    target = 0
  } else {
    target = ids.indexOf(sweep.storm)
    if (target < 0) { issue(['sweep', 'storm'], `no storm with id ${sweep.storm} (storms: ${ids.join(', ') || 'none'})`); return }
  }
  const targets = r.storms[target]?.targets ?? ''
  if (parseTargetSpec(targets).kind === 'ids') issue(['storms', target, 'targets'], 'a swept storm needs a selector (all, peers or supernodes), not a list of peer ids')
  const cells = sweep.stormShare.length * sweep.load.values.length * sweep.trials
  if (cells > SWEEP_RUNS_MAX) issue(['sweep', 'trials'], `${cells} runs in all; at most ${SWEEP_RUNS_MAX}`)
  const { key, values } = sweep.load
  if (key === OFFERED_LOAD) { checkOfferedLoad(r, values, issue); return }
  values.forEach((v, i) => {
    if (key === 'peers') {
      const joining = joinCount(r)
      if (!Number.isInteger(v) || v < 1 || v > PEERS_MAX - joining) issue(['sweep', 'load', 'values', i], `expected a whole number of peers 1..${PEERS_MAX - joining}${joining > 0 ? ` (${joining} more join)` : ''}`)
      else if (r.peers.bootstrap !== undefined && v < r.peers.bootstrap) issue(['sweep', 'load', 'values', i], `fewer peers than peers.bootstrap (${r.peers.bootstrap})`)
      return
    }
    const why = settingProblem(key, v)
    if (why !== null) issue(why.startsWith('not a') || why.startsWith('set by') ? ['sweep', 'load', 'key'] : ['sweep', 'load', 'values', i], why)
  })
}

/** An offeredLoad axis: each value must give a valid loginServiceMs, with the login capacity the scenario's own. */
function checkOfferedLoad (r: Raw, values: readonly number[], issue: (path: PropertyKey[], message: string) => void): void {
  let owned = false
  for (const m of MODEL_NAMES) {
    const k = r.models[m] === undefined ? undefined : modelKeys(m).find(k => CAPACITY_KEYS.includes(k))
    if (k === undefined) continue
    owned = true
    issue(['models', m], `sets ${k}, part of the login capacity that the sweep's offeredLoad axis sets through loginServiceMs: not both`)
  }
  if (owned) return
  const demand: LoginDemand = { peers: r.peers.count, rampUpMs: r.peers.rampUp ?? 0, settings: r.settings }
  // Without a ramp-up no value can be realised: said once, where it is missing.
  if (arrivalRatePerS(demand) === null) issue(['peers', 'rampUp'], 'required above 0 by the sweep\'s offeredLoad axis: the arrival rate is peers.count / rampUp')
  values.forEach((v, i) => {
    try {
      const ms = serviceMsForOfferedLoad(demand, v)
      const why = settingProblem('loginServiceMs', ms)
      if (why !== null) issue(['sweep', 'load', 'values', i], `offered load ${v} needs loginServiceMs ${ms}: ${why}`)
    } catch (err) {
      if (!(err instanceof OfferedLoadError)) throw err
      if (err.problem !== 'ramp-up') issue(['sweep', 'load', 'values', i], err.message)
    }
  })
}

function toScenario (r: Raw): Scenario {
  const s: Scenario = {
    name: r.name,
    description: r.description,
    timeScale: r.timeScale,
    peers: (({ rampUp, ...rest }) => rampUp === undefined ? rest : { ...rest, rampUpMs: rampUp })(r.peers),
    settings: r.settings,
    models: r.models,
    armFaults: r.armFaults,
    warmupMs: r.warmup,
    observeMs: r.observe,
    storms: r.storms.map((st, i) => ({ atMs: st.at, storm: toStormSpec(st, stormId(r, i)), ...(st.expect !== undefined ? { expect: st.expect } : {}) })),
    injections: r.injections.map(inj => ({ atMs: inj.at, count: inj.count, slots: inj.slots })),
    joins: r.joins.map(j => ({ atMs: j.at, count: j.count, overMs: j.over }))
  }
  if (r.seed !== undefined) s.seed = r.seed
  if (r.crashRestart !== undefined) s.crashRestart = r.crashRestart
  if (r.verdict !== undefined) {
    const v: VerdictThresholds = {}
    if (r.verdict.recoveredShare !== undefined) v.recoveredShare = r.verdict.recoveredShare
    if (r.verdict.metastableShare !== undefined) v.metastableShare = r.verdict.metastableShare
    if (r.verdict.recoveryDeadline !== undefined) v.recoveryDeadlineMs = r.verdict.recoveryDeadline
    s.verdict = v
  }
  if (r.expect !== undefined) s.expect = r.expect
  if (r.sweep !== undefined) {
    const sw = r.sweep
    s.sweep = { storm: sw.storm ?? stormId(r, 0), stormShares: sw.stormShare, load: { key: sw.load.key as LoadKey, values: sw.load.values }, trials: sw.trials }
  }
  return s
}

/** The schema: input is the parsed YAML, output a Scenario (durations in emulated ms). */
export const ScenarioSchema = raw.superRefine(crossCheck).transform(toScenario)
