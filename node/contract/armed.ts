/**
 * Fault models armed late (issue 9): a scenario's faults are settings that real
 * networks carried for months without harm, so they must not fire while the lab
 * network is being built from nothing. The orchestrator starts every peer with
 * the faults left out, gives each the settings to switch to in PATCHDAY_ARMED
 * (a JSON object of PATCHDAY_* variables to string values, as in the
 * environment), and creates PATCHDAY_ARM_FILE when the network has formed; the
 * peer then applies them in place (node/arming.ts). A peer that boots after
 * that (a storm's restart) starts armed.
 *
 * Only settings that every service reads at each use can be armed: the keys of
 * the fault models (orchestrator/scenario/models.ts; a unit test keeps the two
 * in step). Anything else is refused, naming the variable.
 */
import { ConfigError } from './errors.ts'
import { checkSettingsAgree, parseSetting, envName, type ConfigKey, type PeerConfig } from './config.ts'

export const ARMED_VARIABLE = 'PATCHDAY_ARMED'
export const ARM_FILE_VARIABLE = 'PATCHDAY_ARM_FILE'
/** The file's name in the run's config folder (the orchestrator writes it; runtimes map the folder). */
export const ARM_FILE_NAME = 'armed'

/** Settings read live by the services (never cached at start-up): what can be armed. */
export const ARMABLE_KEYS = [
  'pendingSlotDeadlineMs', 'electMinUptimeMs', 'electShortageBypassUptime',
  'retryPolicy', 'retryBaseMs', 'retryCapMs', 'retryHonorHint',
  'crashReplyThresholdMs', 'snOverloadThreshold'
] as const satisfies readonly ConfigKey[]
export type ArmableKey = typeof ARMABLE_KEYS[number]
export type ArmedSettings = Partial<Pick<PeerConfig, ArmableKey>>

const ARMABLE = new Set<string>(ARMABLE_KEYS)

/** PATCHDAY_ARMED's text as settings; '' is none. Throws ConfigError naming PATCHDAY_ARMED. */
export function parseArmed (raw: string): ArmedSettings {
  if (raw.trim() === '') return {}
  const bad = (why: string): never => { throw new ConfigError(ARMED_VARIABLE, raw, why) }
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    return bad('is not JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return bad('must be a JSON object of PATCHDAY_* variables to strings')
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') bad(`${name} is not a string`)
    let key: ConfigKey
    let v: unknown
    try {
      [key, v] = parseSetting(name, value as string)
    } catch (err) {
      return bad(err instanceof ConfigError ? err.message : String(err))
    }
    if (!ARMABLE.has(key)) bad(`${name} cannot be armed late (armable: ${ARMABLE_KEYS.map(k => envName(k)).join(', ')})`)
    out[key] = v
  }
  return out as ArmedSettings
}

/** `config` with `armed` over it must pass parseConfig's checks between settings; else a ConfigError naming PATCHDAY_ARMED. */
export function checkArmed (config: PeerConfig, armed: ArmedSettings): void {
  try {
    checkSettingsAgree({ ...config, ...armed })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    throw new ConfigError(ARMED_VARIABLE, JSON.stringify(armed), `once armed, ${err.message}`)
  }
}

/** The orchestrator's side: PATCHDAY_ARMED's value for these settings. */
export function formatArmed (armed: ArmedSettings): string {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(armed)) if (v !== undefined) env[envName(k as ConfigKey)] = String(v)
  return JSON.stringify(env)
}
