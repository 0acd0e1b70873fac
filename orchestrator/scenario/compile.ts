/**
 * From a validated scenario to what the runner starts (pure): the network plan,
 * every peer's settings after the models, and the timeline in order. Checks that
 * need the network (peer ids in target specs exist, models do not conflict, the
 * peer would accept its settings) fail here, before anything starts, as a
 * ScenarioError naming the scenario path.
 *
 * Sweeps: `expandSweep` turns one scenario into its cells (storm share x load
 * value), `trials` runs each. Trial t of every cell shares the seed `<seed>-t<t>`
 * (common random numbers): within a trial the network and the shuffles are the
 * same in every cell, so a larger storm share hits a superset of the peers a
 * smaller one hits, and the boundary between outcomes is not blurred by chance.
 * A load value sets peers.count, a setting, or (`offeredLoad`) the loginServiceMs that
 * makes the users' arrivals that share of the login capacity (offered-load.ts).
 */
import { planNetwork, RESERVE_DEFAULT, RESERVE_MAX, type NetworkOptions, type NetworkPlan } from '../network/plan.ts'
import type { ConfigKey, PeerConfig } from '../../node/contract/config.ts'
import { formatArmed, type ArmedSettings } from '../../node/contract/armed.ts'
import { UsageError } from '../errors.ts'
import { formatDuration } from '../units.ts'
import { joinOffsetMs } from '../network/join.ts'
import { parseTargetSpec, withFraction, formatTargetSpec } from '../storm/targets.ts'
import { TargetSpecError } from '../storm/errors.ts'
import type { StormSpec } from '../storm/plan.ts'
import type { BootDelay } from '../storm/boot-delay.ts'
import { applyModels, settingsForPeer, modelKeys, MODEL_NAMES, MODELS, type AppliedModels } from './models.ts'
import { crossFieldProblem } from './settings.ts'
import type { ArmFaults, LoadKey, Scenario, VerdictThresholds } from './schema.ts'
import { OFFERED_LOAD, demandOf, serviceMsForOfferedLoad } from './offered-load.ts'
import { ConflictingModelsError, ScenarioError, type ScenarioIssue } from './errors.ts'

export type TimelineEntry =
  | { atMs: number, kind: 'storm', storm: StormSpec }
  | { atMs: number, kind: 'inject', count: number, slots: number }
  /** Late peers of the plan (in plan order) whose first boots spread evenly over `overMs` from `atMs`. */
  | { atMs: number, kind: 'join', names: string[], overMs: number }

export interface CompiledScenario {
  name: string
  seed: string
  /** Real seconds per emulated second; also in network.settings.timeScale. */
  timeScale: number
  /** The network to start; `network.settings` are the settings every peer and the login server get. */
  network: NetworkPlan
  /** Settings after models: `common` (= network.settings) and `perPeer` extras (pass as peerEnv's `extra`). */
  applied: AppliedModels
  /** When the fault models' settings take effect (schema.ts). */
  armFaults: ArmFaults
  /** What arming switches on: the settings keys and how many peers get any; null when nothing is armed late. */
  armed: { keys: ConfigKey[], peers: number } | null
  /** Emulated ms: the peers' first boots spread over this long (0: at once). */
  rampUpMs: number
  /** Emulated ms. */
  warmupMs: number
  observeMs: number
  /** Storms, injections and joins ordered by `atMs` (offset from the end of warm-up, emulated ms); on ties storms, then injections, then joins, each in file order. */
  timeline: TimelineEntry[]
  crashRestart?: BootDelay
  verdict?: VerdictThresholds
  expect?: Scenario['expect']
}

/**
 * Faults armed late (node/contract/armed.ts): the fault models' settings leave the settings
 * peers start with and go, per peer, into `armed` (PATCHDAY_ARMED), which the peer applies
 * when the orchestrator creates the arm file. Keys the scenario's own `settings` set stay
 * from the start: the user asked for them. Pure. Null when no fault model sets anything.
 */
export function armLate (s: Pick<Scenario, 'models' | 'settings'>, applied: AppliedModels, peers: readonly string[]): { applied: AppliedModels, keys: ConfigKey[], peers: number } | null {
  const keys = [...new Set(MODEL_NAMES.filter(m => s.models[m] !== undefined && MODELS[m].kind === 'fault').flatMap(m => modelKeys(m)))]
    .filter(k => s.settings[k] === undefined).sort()
  if (keys.length === 0) return null
  const pick = (o: Partial<PeerConfig>): ArmedSettings => Object.fromEntries(keys.filter(k => o[k] !== undefined).map(k => [k, o[k]])) as ArmedSettings
  const omit = (o: Partial<PeerConfig>): Partial<PeerConfig> => Object.fromEntries(Object.entries(o).filter(([k]) => !(keys as string[]).includes(k)))
  const commonArmed = pick(applied.common)
  const common: Partial<PeerConfig> = { ...omit(applied.common), ...(Object.keys(commonArmed).length > 0 ? { armed: formatArmed(commonArmed) } : {}) }
  const perPeer: Record<string, Partial<PeerConfig>> = {}
  let armedPeers = 0
  for (const name of peers) {
    const own = applied.perPeer[name]
    const mine = pick(settingsForPeer(applied, name))
    if (Object.keys(mine).length > 0) armedPeers++
    if (own === undefined) continue
    const rest = omit(own)
    perPeer[name] = Object.keys(pick(own)).length > 0 ? { ...rest, armed: formatArmed(mine) } : rest
  }
  return { applied: { ...applied, common, perPeer }, keys, peers: armedPeers }
}

/** When the k-th (0-based) peer of a join makes its first boot, emulated ms from the end of warm-up: evenly over `over`, the first at `at`. */
export function joinStartMs (j: { atMs: number, overMs: number, names: readonly string[] }, k: number): number {
  return j.atMs + joinOffsetMs(k, j.names.length, j.overMs)
}

/** Emulated to real milliseconds. */
export function toRealMs (emulatedMs: number, timeScale: number): number {
  return Math.round(emulatedMs * timeScale)
}

function conflictIssue (err: ConflictingModelsError): ScenarioIssue {
  const [a, b] = err.sources
  const path = a === 'settings' ? ['settings', err.key] : ['models', b]
  return { path, message: err.message + (a === 'settings' ? ' (a model owns the settings it sets: use its parameters)' : '') }
}

export function compileScenario (s: Scenario, seed: string): CompiledScenario {
  const issues: ScenarioIssue[] = []
  const base: Partial<PeerConfig> = { ...s.settings, timeScale: s.timeScale }
  const opts: NetworkOptions = { peers: s.peers.count, seed, settings: base }
  if (s.peers.bootstrap !== undefined) opts.bootstrap = s.peers.bootstrap
  if (s.peers.capableShare !== undefined) opts.capableShare = s.peers.capableShare
  if (s.peers.reachableShare !== undefined) opts.reachableShare = s.peers.reachableShare
  // Dedicated supernodes for the injections are provisioned up front (accounts, identities).
  const injected = s.injections.reduce((n, inj) => n + inj.count, 0)
  if (injected > RESERVE_MAX) throw new ScenarioError([{ path: ['injections'], message: `at most ${RESERVE_MAX} dedicated supernodes in all, got ${injected}` }])
  opts.reserve = Math.max(RESERVE_DEFAULT, injected)
  // Peers that join later are in the plan from the start (accounts, identities), as its last ones.
  const joining = s.joins.reduce((n, j) => n + j.count, 0)
  if (joining > 0) {
    opts.peers += joining
    opts.late = joining
  }
  let network: NetworkPlan
  try {
    network = planNetwork(opts)
  } catch (err) {
    if (err instanceof UsageError) throw new ScenarioError([{ path: ['peers'], message: err.message }])
    throw err
  }
  const names = new Set(network.peers.map(p => p.name))

  let applied: AppliedModels = { common: base, perPeer: {}, picked: {} }
  try {
    applied = applyModels(s.models, base, { peers: [...names], seed })
  } catch (err) {
    if (!(err instanceof ConflictingModelsError)) throw err
    issues.push(conflictIssue(err))
  }
  const someone = Object.keys(applied.perPeer)[0]
  for (const settings of [applied.common, ...(someone === undefined ? [] : [settingsForPeer(applied, someone)])]) {
    const problem = crossFieldProblem(settings)
    if (problem === null || issues.some(i => i.message === problem.message)) continue
    const model = MODEL_NAMES.find(m => s.models[m] !== undefined && modelKeys(m).includes(problem.key))
    issues.push({ path: model === undefined ? ['settings', problem.key] : ['models', model], message: problem.message })
  }

  // Checked whole above; from here on, peers start without the faults and are armed later.
  const armed = s.armFaults === 'start' ? null : armLate(s, applied, [...names])
  if (armed !== null) applied = armed.applied
  network = { ...network, settings: applied.common }

  s.storms.forEach(({ storm }, i) => {
    const spec = parseTargetSpec(storm.targets)
    if (spec.kind !== 'ids') return
    for (const id of spec.ids) {
      if (!names.has(id)) issues.push({ path: ['storms', i, 'targets'], message: new TargetSpecError(id, `no such peer in a network of ${names.size}`).message })
    }
  })

  // The late peers in plan order go to the joins in time order (file order on ties).
  const late = network.peers.filter(p => p.late === true).map(p => p.name)
  const joins = s.joins.map((j, i) => ({ j, i })).sort((a, b) => a.j.atMs - b.j.atMs)
  const joinEntries: Array<{ index: number, entry: Extract<TimelineEntry, { kind: 'join' }> }> = []
  let taken = 0
  for (const { j, i } of joins) {
    joinEntries.push({ index: i, entry: { atMs: j.atMs, kind: 'join', names: late.slice(taken, taken + j.count), overMs: j.overMs } })
    taken += j.count
  }
  joinEntries.sort((a, b) => a.index - b.index)
  // A storm that names a peer must not come before that peer joins: at its time the peer would not exist.
  const joinsAt = new Map<string, number>()
  for (const { entry } of joinEntries) entry.names.forEach((n, k) => joinsAt.set(n, joinStartMs(entry, k)))
  s.storms.forEach(({ atMs, storm }, i) => {
    const spec = parseTargetSpec(storm.targets)
    if (spec.kind !== 'ids') return
    for (const id of spec.ids) {
      const at = joinsAt.get(id)
      if (at !== undefined && at > atMs) issues.push({ path: ['storms', i, 'targets'], message: `${id} joins at ${formatDuration(at)}, after this storm (at ${formatDuration(atMs)})` })
    }
  })
  if (issues.length > 0) throw new ScenarioError(issues)

  const timeline: TimelineEntry[] = [
    ...s.storms.map(st => ({ atMs: st.atMs, kind: 'storm' as const, storm: st.storm })),
    ...s.injections.map(inj => ({ atMs: inj.atMs, kind: 'inject' as const, count: inj.count, slots: inj.slots })),
    ...joinEntries.map(x => x.entry)
  ].sort((a, b) => a.atMs - b.atMs)
  const out: CompiledScenario = { name: s.name, seed, timeScale: s.timeScale, network, applied, armFaults: s.armFaults, armed: armed === null ? null : { keys: armed.keys, peers: armed.peers }, rampUpMs: s.peers.rampUpMs ?? 0, warmupMs: s.warmupMs, observeMs: s.observeMs, timeline }
  if (s.crashRestart !== undefined) out.crashRestart = s.crashRestart
  if (s.verdict !== undefined) out.verdict = s.verdict
  if (s.expect !== undefined) out.expect = s.expect
  return out
}

export interface SweepCell {
  shareIndex: number
  loadIndex: number
  /** 0-based. */
  trial: number
  stormShare: number
  load: number
  /** `<seed>-t<trial + 1>`. */
  seed: string
  /** `share=0.3 peers=50 trial=2`; an offered load names the service time that realises it: `share=0.3 offeredLoad=1 (loginServiceMs=2000) trial=2` */
  label: string
  /** The cell as a plain scenario (no sweep), with its seed. */
  scenario: Scenario
}

/** Every run of a sweep, in order: share (outer), load, trial (inner). A scenario without a sweep gives []. */
export function expandSweep (s: Scenario, seed: string): SweepCell[] {
  const sweep = s.sweep
  if (sweep === undefined) return []
  const cells: SweepCell[] = []
  sweep.stormShares.forEach((share, shareIndex) => {
    sweep.load.values.forEach((load, loadIndex) => {
      for (let trial = 0; trial < sweep.trials; trial++) cells.push(sweepCell(s, seed, share, load, trial, shareIndex, loadIndex))
    })
  })
  return cells
}

/**
 * One run of a sweep: the scenario with the swept storm at `share` of its targets and the load
 * at `load`, seeded by its trial (`<seed>-t<trial + 1>`, so that trial k of every cell shares
 * a seed). Also for shares off the grid (adaptive refinement; their index is -1).
 */
export function sweepCell (s: Scenario, seed: string, share: number, load: number, trial: number, shareIndex = -1, loadIndex = -1): SweepCell {
  const sweep = s.sweep
  if (sweep === undefined) throw new Error(`scenario ${s.name} has no sweep`)
  const cellSeed = `${seed}-t${trial + 1}`
  const { sweep: _drop, ...rest } = s
  const set = loadSettings(s, sweep.load.key, load)
  const scenario: Scenario = {
    ...rest,
    seed: cellSeed,
    storms: s.storms.map(st => st.storm.id !== sweep.storm
      ? st
      : { ...st, storm: { ...st.storm, targets: formatTargetSpec(withFraction(parseTargetSpec(st.storm.targets), share)) } }),
    peers: sweep.load.key === 'peers' ? { ...s.peers, count: load } : s.peers,
    settings: { ...s.settings, ...set }
  }
  const label = `share=${share} ${sweep.load.key}=${load}${sweep.load.key === OFFERED_LOAD ? ` (${formatSettings(set)})` : ''} trial=${trial + 1}`
  return { shareIndex, loadIndex, trial, stormShare: share, load, seed: cellSeed, label, scenario }
}

/**
 * The settings a load value sets: {} for `peers`; for `offeredLoad`, the loginServiceMs that
 * realises it (offered-load.ts; throws OfferedLoadError for a value the schema would refuse);
 * else the setting itself.
 */
export function loadSettings (s: Pick<Scenario, 'peers' | 'settings'>, key: LoadKey, load: number): Partial<PeerConfig> {
  if (key === 'peers') return {}
  if (key === OFFERED_LOAD) return { loginServiceMs: serviceMsForOfferedLoad(demandOf(s), load) }
  return { [key]: load }
}

/** `loginServiceMs=2000` */
export function formatSettings (settings: Partial<PeerConfig>): string {
  return Object.entries(settings).map(([k, v]) => `${k}=${String(v)}`).join(' ')
}
