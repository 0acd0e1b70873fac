/**
 * Can this host run a scenario faithfully? (pure) Its plan (peers, storms with
 * their targets and timing, expected duration), and for each storm the CPU its
 * restarts need (boot CPU per restart) against what the host's cores give in
 * the storm's real window. A storm whose restarts need more than that runs late:
 * 240 restarts in a 10 s window on 800 peers here ran up to 100 s late (p50
 * 17 s) with the host at 100%, and the verdict then measures the host, not the
 * network. A slower clock (a larger timeScale: real seconds per emulated second)
 * widens every real window; `minTimeScale` is the smallest that fits.
 */
import type { CompiledScenario } from './compile.ts'
import { toRealMs, joinStartMs } from './compile.ts'
import { initialPeers } from '../network/plan.ts'
import { parseTargetSpec } from '../storm/targets.ts'
import { shapeWindowMs, describeShape } from '../storm/plan.ts'
import { bootDelayBounds, formatBootDelay } from '../storm/boot-delay.ts'
import { defaultSetting } from '../../node/contract/config.ts'
import { arrivalRatePerS, loginCapacityPerS, type LoginDemand } from './offered-load.ts'
import { formatSignificant as num } from '../units.ts'

export interface HostCosts {
  cores: number
  /** Host CPU seconds one restart costs before its peer is up (a peer's boot; plus the engine's container start for container restarts). */
  restartCpuS: number
  /** Share of the cores a storm may take and stay on time (the network's own work, the orchestrator and the OS need the rest). */
  utilization: number
}

export interface StormCheck {
  id: string
  /** Real seconds after the warm-up ends. */
  atS: number
  targets: string
  /** Restarts planned; `approx` when the count depends on roles at that moment (supernodes come and go). */
  restarts: number
  approx: boolean
  shape: string
  bootDelay: string
  /** Real seconds over which its starts spread: the window plus the boot delays' spread (at least 1 s). */
  spreadS: number
  cpuNeededS: number
  cpuAvailableS: number
  /** How far behind the storm's plan its last boots would end (0: on time). */
  lateS: number
  /** On time as the report judges runtime lag: late by at most half the spread, or 2 s. */
  fits: boolean
  /** The smallest timeScale at which this storm fits (the scenario's own when it fits). */
  minTimeScale: number
  /**
   * Every restarted peer logs in again: its logins per emulated second over the spread of its
   * boots (window plus the boot delays' spread), against the login capacity (offered-load.ts).
   * A burst load above 1 builds a login queue for as long as the burst lasts: at its end about
   * (logins/s - capacity) x spread logins wait, that many over the capacity in seconds, against
   * the clients' patience (loginTimeoutMs). A wait past the patience serves clients who have
   * left, the sustaining effect of a metastable failure. The queue holds at most loginQueueMax
   * (`queueOverflow`): the rest are answered busy at once, or held unanswered until their clients give up.
   */
  loginsPerS: number
  burstLoad: number
  loginQueuePeak: number
  /** Past loginQueueMax, how the rest are refused (loginOverflow); null when the queue holds them all. */
  queueOverflow: 'busy' | 'timeout' | null
  loginWaitS: number
}

export interface ScenarioCheck {
  name: string
  seed: string
  timeScale: number
  /** Peers `up` starts. */
  peers: number
  /** Peers once every join has started (peers + joiners). */
  peakPeers: number
  bootstrap: number
  reserve: number
  /** Supernodes expected once the network is steady: the bootstrap ones, or as many as the clients need at slotsMax each. */
  supernodesExpected: number
  /** Logins per emulated second the login server serves (offered-load.ts), and how long a client waits for one. */
  loginServer: { capacityPerS: number, patienceS: number }
  /** The users' logins during the ramp-up against the login server (offered-load.ts); null without a ramp-up. */
  login: { arrivalsPerS: number, offeredLoad: number, rampUpS: number } | null
  storms: StormCheck[]
  injections: Array<{ atS: number, count: number, slots: number }>
  /** Real seconds: when each join starts and over how long its first boots spread; the peers joining. */
  joins: Array<{ atS: number, count: number, overS: number, first: string, last: string }>
  /** Real seconds: start-up (at least the ramp-up, at least the boot CPU over the cores), warm-up, timeline (its last event), observation (from the timeline's start, so it holds the timeline). */
  durationS: { startup: number, warmup: number, timeline: number, observe: number, total: number }
  faithful: boolean
  minTimeScale: number
}

/** timeScale is rounded up to this step. */
const SCALE_STEP = 0.05
const roundUp = (x: number): number => Math.ceil(x / SCALE_STEP - 1e-9) * SCALE_STEP
/** The report's runtime-lag rule (analysis/lag.ts): late by more than half the window, and by at least 2 s. */
const LAG_FLOOR_S = 2
const allowedLateS = (spreadS: number): number => Math.max(LAG_FLOOR_S, spreadS / 2)
/** The smallest real spread over which `busyS` of work is on time by that rule. */
function minSpreadS (busyS: number): number {
  const withFloor = busyS - LAG_FLOOR_S
  return withFloor <= 2 * LAG_FLOOR_S ? Math.max(0, withFloor) : busyS / 1.5
}

function targetCount (spec: string, peers: number, supernodes: number): { n: number, approx: boolean } {
  const t = parseTargetSpec(spec)
  if (t.kind === 'ids') return { n: t.ids.length, approx: false }
  const pool = t.selector === 'all' ? peers : t.selector === 'peers' ? peers - supernodes : supernodes
  const approx = t.selector !== 'all'
  switch (t.quantity.kind) {
    case 'every': return { n: pool, approx }
    case 'count': return { n: Math.min(t.quantity.n, pool), approx }
    case 'fraction': return { n: Math.round(t.quantity.x * pool), approx }
  }
}

export function checkScenario (c: CompiledScenario, host: HostCosts): ScenarioCheck {
  if (!(host.cores > 0 && host.restartCpuS > 0 && host.utilization > 0 && host.utilization <= 1)) throw new RangeError('checkScenario: cores, restart CPU and utilization must be positive (utilization at most 1)')
  const peers = initialPeers(c.network).length
  const peakPeers = c.network.peers.length
  const bootstrap = c.network.peers.filter(p => p.bootstrap).length
  const slots = c.network.settings.slotsMax ?? defaultSetting('slotsMax')
  const supernodesFor = (n: number): number => Math.max(bootstrap, Math.ceil((n - bootstrap) / Math.max(1, slots)))
  const supernodesExpected = supernodesFor(peers)
  const real = (ms: number): number => toRealMs(ms, c.timeScale) / 1000
  const demand: LoginDemand = { peers, rampUpMs: c.rampUpMs, settings: c.network.settings }
  const arrivalsPerS = arrivalRatePerS(demand)
  const capacityPerS = loginCapacityPerS(demand)
  const login = arrivalsPerS === null ? null : { arrivalsPerS, offeredLoad: arrivalsPerS / capacityPerS, rampUpS: c.rampUpMs / 1000 }
  const budget = host.cores * host.utilization
  const patienceS = (c.network.settings.loginTimeoutMs ?? defaultSetting('loginTimeoutMs')) / 1000
  const queueMax = c.network.settings.loginQueueMax ?? defaultSetting('loginQueueMax')
  const overflow = c.network.settings.loginOverflow ?? defaultSetting('loginOverflow')
  const storms: StormCheck[] = []
  const injections: ScenarioCheck['injections'] = []
  const joins: ScenarioCheck['joins'] = []
  // When each joiner starts (emulated ms): a storm can hit those that joined before it.
  const joinStarts = c.timeline.flatMap(e => e.kind === 'join' ? e.names.map((_, k) => joinStartMs(e, k)) : [])
  for (const e of c.timeline) {
    if (e.kind === 'inject') { injections.push({ atS: real(e.atMs), count: e.count, slots: e.slots }); continue }
    if (e.kind === 'join') { joins.push({ atS: real(e.atMs), count: e.names.length, overS: real(e.overMs), first: e.names[0] ?? '', last: e.names[e.names.length - 1] ?? '' }); continue }
    const present = peers + joinStarts.filter(at => at <= e.atMs).length
    const { n, approx } = targetCount(e.storm.targets, present, supernodesFor(present))
    const delay = bootDelayBounds(e.storm.bootDelay)
    // Emulated ms over which the restarts' boots spread; an all-at-once storm with a fixed delay gets 1 real second.
    const spreadEmulatedMs = shapeWindowMs(e.storm.shape) + (delay.maxMs - delay.minMs)
    const spreadS = Math.max(1, real(spreadEmulatedMs))
    const cpuNeededS = n * host.restartCpuS
    const cpuAvailableS = spreadS * budget
    const lateS = Math.max(0, cpuNeededS / budget - spreadS)
    const fits = lateS <= allowedLateS(spreadS)
    // The real spread grows with timeScale: the smallest spread that is on time, as a scale.
    const minTimeScale = fits ? c.timeScale : roundUp(minSpreadS(cpuNeededS / budget) / Math.max(1e-9, spreadEmulatedMs / 1000))
    // An all-at-once storm with a fixed delay: its logins arrive within one emulated second.
    const burstS = Math.max(1, spreadEmulatedMs / 1000)
    const loginsPerS = n / burstS
    const queueWanted = Math.max(0, (loginsPerS - capacityPerS) * burstS)
    const loginQueuePeak = Math.min(queueWanted, queueMax)
    storms.push({
      id: e.storm.id,
      atS: real(e.atMs),
      targets: e.storm.targets,
      restarts: n,
      approx,
      shape: describeShape(e.storm.shape),
      bootDelay: formatBootDelay(e.storm.bootDelay),
      spreadS,
      cpuNeededS,
      cpuAvailableS,
      lateS,
      fits,
      minTimeScale,
      loginsPerS,
      burstLoad: loginsPerS / capacityPerS,
      loginQueuePeak,
      queueOverflow: queueWanted > queueMax ? overflow : null,
      loginWaitS: loginQueuePeak / capacityPerS
    })
  }
  const bootAllS = (peers + 1) * host.restartCpuS / budget
  const startup = Math.max(real(c.rampUpMs), bootAllS)
  const lastAt = Math.max(0, ...c.timeline.map(e => e.atMs + (e.kind === 'join' ? e.overMs : 0)))
  const durationS = { startup, warmup: real(c.warmupMs), timeline: real(lastAt), observe: real(c.observeMs), total: 0 }
  // Observation runs from the timeline's start (commands/run.ts), and the schema keeps every event within it.
  durationS.total = durationS.startup + durationS.warmup + Math.max(durationS.timeline, durationS.observe)
  const faithful = storms.every(s => s.fits)
  return {
    name: c.name,
    seed: c.seed,
    timeScale: c.timeScale,
    peers,
    peakPeers,
    bootstrap,
    reserve: c.network.reserve.length,
    supernodesExpected,
    loginServer: { capacityPerS, patienceS },
    login,
    storms,
    injections,
    joins,
    durationS,
    faithful,
    minTimeScale: Math.max(c.timeScale, ...storms.map(s => s.minTimeScale))
  }
}

const s1 = (x: number): string => x.toFixed(1)

export function formatCheck (k: ScenarioCheck, host: HostCosts, runtime: string): string {
  const lines = [
    `scenario ${k.name}: seed ${k.seed}, timeScale ${k.timeScale} (real seconds per emulated second)`,
    `network: ${k.peers} peers (${k.bootstrap} bootstrap supernodes, about ${k.supernodesExpected} supernodes when steady), ${k.reserve} dedicated supernodes in reserve`,
    ...(k.login === null ? [] : [`login: ${k.peers} peers arrive over ${num(k.login.rampUpS)} s emulated (${num(k.login.arrivalsPerS)}/s) against a login capacity of ${num(k.loginServer.capacityPerS)}/s: offered load ${num(k.login.offeredLoad)}`]),
    ...k.storms.map(s => `storm ${s.id}: at +${s1(s.atS)} s, ${s.approx ? 'about ' : ''}${s.restarts} restarts (${s.targets}), ${s.shape} emulated, boot delay ${s.bootDelay}; ` +
      `needs ${s1(s.cpuNeededS)} s of CPU over ${s1(s.spreadS)} s real, the host gives ${s1(s.cpuAvailableS)}: ` +
      (s.lateS === 0 ? 'on time' : `boots end about ${s1(s.lateS)} s behind the plan${s.fits ? ' (within the report\'s runtime-lag tolerance)' : ` (runs late; on time at timeScale >= ${s.minTimeScale.toFixed(2)})`}`) +
      `\n  its logins: about ${num(s.loginsPerS)}/s emulated against a login capacity of ${num(k.loginServer.capacityPerS)}/s: burst load ${num(s.burstLoad)}` +
      (s.loginQueuePeak < 1 ? '' : `; about ${Math.round(s.loginQueuePeak)} queued at its end${s.queueOverflow === null ? '' : s.queueOverflow === 'busy' ? ' (loginQueueMax; the rest are answered busy)' : ' (loginQueueMax; the rest are held unanswered)'}, ${num(s.loginWaitS)} s of waiting against the clients' ${num(k.loginServer.patienceS)} s`)),
    ...k.injections.map(i => `inject: at +${s1(i.atS)} s, ${i.count} dedicated supernodes of ${i.slots} slots`),
    ...k.joins.map(j => `join: at +${s1(j.atS)} s, ${j.count} peers (${j.first}..${j.last}) over ${s1(j.overS)} s`),
    ...(k.joins.length > 0 ? [`peak: ${k.peakPeers} peers once every join has started (${k.peers} at the start)`] : []),
    `duration: about ${Math.ceil(k.durationS.total)} s real (start-up ${Math.ceil(k.durationS.startup)} s, warm-up ${s1(k.durationS.warmup)}, observe ${s1(k.durationS.observe)} from the timeline's start, whose last event is at +${s1(k.durationS.timeline)})`,
    `host: ${host.cores} cores at ${Math.round(host.utilization * 100)}% for storms, ${Number(host.restartCpuS.toFixed(2))} s of CPU per restart (${runtime})`,
    k.faithful
      ? 'faithful: yes, every storm\'s restarts fit the host'
      : `faithful: no, restarts would run late and the verdict would measure the host: run with timeScale ${k.minTimeScale.toFixed(2)} or more, fewer peers, or a larger host`
  ]
  return lines.join('\n')
}
