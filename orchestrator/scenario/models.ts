/**
 * Fault models and fixes: named presets of peer settings (pure).
 *
 * Skype never published its bug, so each plausible mechanism is a model a
 * scenario switches on by name. A model must be a *mechanism with a threshold*,
 * not a switch that breaks the network: each one below says what it does and
 * what decides whether it bites, so that a calm network, or a small storm, still
 * recovers with the fault on (docs/outage.md; issue 3, Acceptance).
 *
 * In a scenario:
 *
 *   models:
 *     slot-leak:                       # no parameters
 *     promotion-stall: { minUptimeMs: 120000 }
 *     crashing-version: { share: 0.5 }
 *
 * Parameters are in the units of the settings they set (ms, with names ending
 * in Ms), all optional with the defaults below. Two models that set one setting
 * to different values conflict (a fault and its fix: slot-leak and slot-reclaim,
 * promotion-stall and demand-promotion, immediate-retries and jittered-backoff or
 * admission-control), and so does a model against the scenario's own `settings`:
 * both are errors, never a silent override.
 */
import { z } from 'zod'
import { createRng } from '../../node/contract/rng.ts'
import type { ConfigKey, PeerConfig } from '../../node/contract/config.ts'
import { ConflictingModelsError } from './errors.ts'
import { UsageError } from '../errors.ts'

const DAY_MS = 86_400_000

interface ModelDef<P extends object> {
  era: 2007 | 2010
  kind: 'fault' | 'fix'
  /** What it does, in the peer's terms. */
  mechanism: string
  /** What decides whether it bites: why it is not a switch. */
  threshold: string
  defaults: P
  params: z.ZodType<Partial<P>>
  settings: (p: P) => Partial<PeerConfig>
  /** When present, the settings apply to this share of the peers only, picked from the run's seed. */
  share?: (p: P) => number
}

const define = <P extends object>(d: ModelDef<P>): ModelDef<P> => d
const none = z.strictObject({})
const ms = (min: number): z.ZodNumber => z.number().int().min(min).max(DAY_MS)

export const MODELS = {
  // ---- 2007: "a previously unseen bug in the network resource allocation algorithm"
  'slot-leak': define({
    era: 2007,
    kind: 'fault',
    mechanism: 'A supernode takes a slot when a client attaches and frees it when the client registers or leaves. ' +
      'pendingSlotDeadlineMs 0: a slot whose client never registers (its login failed or timed out, or it rebooted in between) is never reclaimed, until the supernode itself restarts.',
    threshold: 'Slots leak only when attaches do not complete, that is when logins fail: a calm network loses none, a small storm a few. ' +
      'A supernode is wedged when its leaked slots reach slotsMax; how many leak grows with the login failures, so with the storm size against the login server\'s capacity.',
    defaults: {},
    params: none,
    settings: () => ({ pendingSlotDeadlineMs: 0 })
  }),
  'promotion-stall': define({
    era: 2007,
    kind: 'fault',
    mechanism: 'Promotion to supernode needs electMinUptimeMs of uptime since boot, with no exception during a shortage ' +
      '(electShortageBypassUptime false): right after a mass reboot the restarted peers cannot replace the supernodes that went down with them.',
    threshold: 'Peers that were not restarted still qualify (minUptimeMs must be shorter than the warm-up, which the scenario checks, else no one ever promotes: a switch). ' +
      'It bites when the storm restarts so many capable peers that the survivors cannot carry the load for minUptimeMs.',
    defaults: { minUptimeMs: 120_000 },
    params: z.strictObject({ minUptimeMs: ms(1).optional() }),
    settings: p => ({ electMinUptimeMs: p.minUptimeMs, electShortageBypassUptime: false })
  }),
  'immediate-retries': define({
    era: 2007,
    kind: 'fault',
    mechanism: 'A failed attach or login round is retried after a short fixed pause (pauseMs), with no backoff and no jitter (retryPolicy fixed, retryBaseMs pauseMs), ' +
      'and busy answers\' retry hints are ignored (retryHonorHint false). (A truly immediate retry would spin on fast refusals and load the host rather than the model.)',
    threshold: 'Costs nothing while requests succeed; each failure adds a request at once, so once the failure rate passes 1 - capacity/load the offered load feeds itself (the sustaining effect of Bronson et al.). ' +
      'The pause sets how fast a stuck client cycles, and so its signalling; it sustains the queue while it is shorter than the login queue\'s wait.',
    defaults: { pauseMs: 1000 },
    params: z.strictObject({ pauseMs: ms(1).optional() }),
    settings: p => ({ retryPolicy: 'fixed', retryBaseMs: p.pauseMs, retryHonorHint: false })
  }),
  // ---- 2007: the tuned behaviour that heals
  'slot-reclaim': define({
    era: 2007,
    kind: 'fix',
    mechanism: 'A pending slot whose client has not registered within deadlineMs is freed (pendingSlotDeadlineMs).',
    threshold: 'Capacity lost to failed attaches is bounded by attach rate x deadlineMs, and comes back within deadlineMs.',
    defaults: { deadlineMs: 15_000 },
    params: z.strictObject({ deadlineMs: ms(1).optional() }),
    settings: p => ({ pendingSlotDeadlineMs: p.deadlineMs })
  }),
  'demand-promotion': define({
    era: 2007,
    kind: 'fix',
    mechanism: 'During a shortage (busy answers, too few or too loaded supernodes) eligible peers promote without waiting for electMinUptimeMs (electShortageBypassUptime true).',
    threshold: 'Promotion still needs a shortage, a capable reachable peer and a draw of electPromoteProb, so supply follows demand instead of jumping.',
    defaults: {},
    params: none,
    settings: () => ({ electShortageBypassUptime: true })
  }),
  'jittered-backoff': define({
    era: 2007,
    kind: 'fix',
    mechanism: 'Retries wait min(capMs, baseMs * 2^n) with full jitter, or decorrelated jitter min(capMs, random(baseMs, 3 * prev)) (Brooker 2015).',
    threshold: 'Retry load per client falls geometrically with consecutive failures, capped by capMs; jitter spreads a synchronised crowd of rebooted peers over time.',
    defaults: { policy: 'full-jitter' as 'full-jitter' | 'decorrelated', baseMs: 1000, capMs: 60_000 },
    params: z.strictObject({ policy: z.enum(['full-jitter', 'decorrelated']).optional(), baseMs: ms(1).optional(), capMs: ms(1).optional() }),
    settings: p => ({ retryPolicy: p.policy, retryBaseMs: p.baseMs, retryCapMs: p.capMs })
  }),
  'admission-control': define({
    era: 2007,
    kind: 'fix',
    mechanism: 'The login server answers excess requests at once with busy and a retry hint (loginOverflow busy) beyond a bounded queue (loginQueueMax), ' +
      'and clients wait at least as long as a busy answer\'s hint, from supernodes and the login server (retryHonorHint true).',
    threshold: 'Work admitted never exceeds what the server can serve within the clients\' timeouts; the rest costs one cheap reply and comes back when the hint says.',
    defaults: { loginQueueMax: 32 },
    params: z.strictObject({ loginQueueMax: z.number().int().min(0).max(100_000).optional() }),
    settings: p => ({ retryHonorHint: true, loginOverflow: 'busy', loginQueueMax: p.loginQueueMax })
  }),
  // ---- 2010: the supernode cascade
  'crashing-version': define({
    era: 2010,
    kind: 'fault',
    mechanism: 'A share of the peers runs a "crashing version" that exits when a reply takes longer than replyThresholdMs (crashReplyThresholdMs); ' +
      'in 2010 version 5.0.0.152 ran on about 50% of clients and about 40% of those crashed. The peers are picked from the run\'s seed.',
    threshold: 'Only replies slower than replyThresholdMs crash a peer: a calm network answers well within it; an overloaded one does not, and each crash moves load to the rest.',
    defaults: { share: 0.5, replyThresholdMs: 3000 },
    params: z.strictObject({ share: z.number().min(0).max(1).optional(), replyThresholdMs: ms(1).optional() }),
    settings: p => ({ crashReplyThresholdMs: p.replyThresholdMs }),
    share: p => p.share
  }),
  'sn-self-protection': define({
    era: 2010,
    kind: 'fault',
    mechanism: 'A supernode gives up its role (demotes itself) when requests arrive faster than threshold times its request budget ' +
      '(snRequestRatePerS) over a measuring window (snOverloadThreshold); in 2010 supernode traffic reached about 100x normal.',
    threshold: 'Harmless below the threshold; above it, a supernode that protects itself hands its clients to the others, which pushes them over it too (the domino).',
    defaults: { threshold: 2 },
    params: z.strictObject({ threshold: z.number().gt(0).max(100).optional() }),
    settings: p => ({ snOverloadThreshold: p.threshold })
  })
} as const

export type ModelName = keyof typeof MODELS
export const MODEL_NAMES = Object.keys(MODELS) as ModelName[]
type ParamsOf<N extends ModelName> = (typeof MODELS)[N]['defaults']

/** Models switched on, each with its (partial) parameters. */
export type ModelSelection = { [N in ModelName]?: Partial<ParamsOf<N>> }

/** The `models` section of a scenario: a map of model name to parameters (empty or null for none). */
export const modelsField = z.strictObject(Object.fromEntries(MODEL_NAMES.map(name => [
  name,
  z.preprocess(v => v === null || v === true ? {} : v, MODELS[name].params as z.ZodType<object>).optional()
]))).transform(m => m as ModelSelection)

export interface AppliedModels {
  /** Settings for every peer and the login server: the base plus every model's. */
  common: Partial<PeerConfig>
  /** Extra settings of single peers (models applied to a share); peers without extras are absent. */
  perPeer: Record<string, Partial<PeerConfig>>
  /** The peers each share model picked, sorted. */
  picked: Partial<Record<ModelName, string[]>>
}

export interface ModelContext {
  /** Names of every peer in the network. */
  peers: readonly string[]
  /** The run's seed: which peers a share model picks. */
  seed: string
}

function params<N extends ModelName> (name: N, given: Partial<ParamsOf<N>>): ParamsOf<N> {
  const out: Record<string, unknown> = { ...MODELS[name].defaults }
  for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k] = v
  return out as ParamsOf<N>
}

/**
 * Apply models to base settings. Throws ConflictingModelsError when two
 * sources set one setting to different values.
 */
export function applyModels (models: ModelSelection, base: Partial<PeerConfig>, ctx: ModelContext): AppliedModels {
  for (const key of Object.keys(models)) if (!(MODEL_NAMES as string[]).includes(key)) throw new UsageError(`unknown model ${key} (known: ${MODEL_NAMES.join(', ')})`)
  const owner = new Map<string, { source: string, value: unknown }>()
  for (const [k, v] of Object.entries(base)) if (v !== undefined) owner.set(k, { source: 'settings', value: v })
  const claim = (source: string, settings: Partial<PeerConfig>): void => {
    for (const [k, v] of Object.entries(settings)) {
      const prev = owner.get(k)
      if (prev !== undefined && prev.value !== v) throw new ConflictingModelsError([prev.source, source], k, [prev.value, v])
      owner.set(k, { source, value: v })
    }
  }
  const common: Partial<PeerConfig> = { ...base }
  const perPeer: Record<string, Partial<PeerConfig>> = {}
  const picked: AppliedModels['picked'] = {}
  for (const name of MODEL_NAMES) {
    const given = models[name]
    if (given === undefined) continue
    const def = MODELS[name] as ModelDef<object>
    const p = params(name, given as never)
    const settings = def.settings(p)
    claim(name, settings)
    if (def.share === undefined) {
      Object.assign(common, settings)
      continue
    }
    const chosen = pickShare(ctx, name, def.share(p))
    picked[name] = chosen
    for (const peer of chosen) perPeer[peer] = { ...perPeer[peer], ...settings }
  }
  return { common, perPeer, picked }
}

/** round(share * n) peers, from a shuffle seeded by (seed, model): the same seed picks the same peers. */
function pickShare (ctx: ModelContext, name: ModelName, share: number): string[] {
  const sorted = [...ctx.peers].sort()
  const k = Math.round(share * sorted.length)
  return createRng(ctx.seed).fork(`model/${name}`).shuffle(sorted).slice(0, k).sort()
}

/** One peer's settings: common plus its own extras. */
export function settingsForPeer (applied: AppliedModels, peer: string): Partial<PeerConfig> {
  return { ...applied.common, ...applied.perPeer[peer] }
}

/** The settings keys a model sets (for docs and conflict messages). */
export function modelKeys (name: ModelName): ConfigKey[] {
  const def = MODELS[name] as ModelDef<object>
  return Object.keys(def.settings(def.defaults)) as ConfigKey[]
}

/** Documentation rows: [name, era, kind, settings, mechanism, threshold]. */
export function modelRows (): Array<[string, string, string, string, string, string]> {
  return MODEL_NAMES.map(name => {
    const d = MODELS[name] as ModelDef<object>
    const settings = Object.entries(d.settings(d.defaults)).map(([k, v]) => `${k}=${String(v)}`).join(', ')
    return [name, String(d.era), d.kind, settings, d.mechanism, d.threshold]
  })
}
