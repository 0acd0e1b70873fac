/**
 * A scenario's `settings`: peer settings by their PeerConfig key, validated
 * against CONFIG_SPEC (the one table of every setting) with the same ranges the
 * peer applies. Wiring that the orchestrator owns (identity, addresses, role,
 * capacity, time scale) is refused here: a scenario says it elsewhere or not at all.
 */
import { z } from 'zod'
import { CONFIG_SPEC, configToEnv, parseConfig, type ConfigKey, type PeerConfig } from '../../node/contract/config.ts'
import { ConfigError } from '../../node/contract/errors.ts'

/** Keys a scenario may not set, with where they come from instead. */
export const WIRING_KEYS: Partial<Record<ConfigKey, string>> = {
  runId: 'the run', peer: 'the network plan', role: 'the network plan', stateDir: 'the run folder', seed: 'the scenario\'s seed',
  listenIp: 'the network plan', announceIp: 'the runtime', port: 'the network plan', loginAddr: 'provisioning',
  bootstrapAddrs: 'provisioning', accountsFile: 'provisioning', timeScale: 'the scenario\'s timeScale',
  bootstrap: 'peers.bootstrap', capacityClass: 'peers.capableShare', reachable: 'peers.reachableShare'
}

type AnySpec = (typeof CONFIG_SPEC)[ConfigKey]

export function isConfigKey (key: string): key is ConfigKey {
  return Object.hasOwn(CONFIG_SPEC, key)
}

/** Why `value` is not a valid scenario value for `key`, or null when it is. */
export function settingProblem (key: string, value: unknown): string | null {
  if (!isConfigKey(key)) return 'not a peer setting (see docs/config.md)'
  const owner = WIRING_KEYS[key]
  if (owner !== undefined) return `set by ${owner}, not by settings`
  const spec: AnySpec = CONFIG_SPEC[key]
  switch (spec.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return `expected a whole number ${spec.min}..${spec.max}`
      return value < spec.min || value > spec.max ? `expected ${spec.min}..${spec.max}` : null
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `expected a number ${spec.min}..${spec.max}`
      return value < spec.min || value > spec.max ? `expected ${spec.min}..${spec.max}` : null
    case 'bool':
      return typeof value === 'boolean' ? null : 'expected true or false'
    case 'enum':
      return typeof value === 'string' && (spec.values as readonly string[]).includes(value) ? null : `expected one of ${spec.values.join(', ')}`
    default:
      // Every string and list setting is wiring (refused above); a new one must be added deliberately.
      return `a ${spec.kind} setting cannot be set by a scenario`
  }
}

export const settingsField = z.record(z.string(), z.unknown())
  .superRefine((settings, ctx) => {
    for (const [key, value] of Object.entries(settings)) {
      const why = settingProblem(key, value)
      if (why !== null) ctx.addIssue({ code: 'custom', path: [key], message: why, input: value })
    }
  })
  .transform(s => s as Partial<PeerConfig>)

/** Placeholders for the wiring, so that a peer's settings can go through the peer's own parser. */
const WIRING: Partial<PeerConfig> = {
  runId: 'check', peer: 'p-001', role: 'peer', stateDir: '/nonexistent', seed: 'check', loginAddr: '/ip4/127.0.0.1/tcp/4000'
}

/**
 * The peer's own cross-field rules (retryBaseMs <= retryCapMs, ...): run the
 * settings through parseConfig, as the peer will. Returns the offending key and
 * why, or null.
 */
export function crossFieldProblem (settings: Partial<PeerConfig>): { key: ConfigKey, message: string } | null {
  try {
    parseConfig(configToEnv({ ...settings, ...WIRING }))
    return null
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    const key = (Object.keys(CONFIG_SPEC) as ConfigKey[]).find(k => CONFIG_SPEC[k].env === err.variable)
    if (key === undefined) throw err
    return { key, message: err.message }
  }
}
