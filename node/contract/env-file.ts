/**
 * The env file (PATCHDAY_ENV_FILE): per-host settings for the replicas of a
 * scaled container service, which all start from one image and one
 * environment. The orchestrator writes
 *
 *   { "<hostname>": { "PATCHDAY_PEER": "p-017", "PATCHDAY_CAPACITY_CLASS": "2", ... }, ... }
 *
 * and each process, at start-up and before its config is parsed, merges the
 * entry of its own host name (os.hostname(): a container's id or its
 * configured hostname) over its environment.
 */
import { CONFIG_SPEC } from './config.ts'
import { ConfigError } from './errors.ts'

export const ENV_FILE_VARIABLE = 'PATCHDAY_ENV_FILE'

export type EnvFile = Record<string, Record<string, string>>

/** Variables an entry may set: every setting but the env file itself. */
const SETTABLE = new Set<string>(Object.values(CONFIG_SPEC).map(s => s.env).filter(e => e !== ENV_FILE_VARIABLE))

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * `env` with the entry `hostname` of the env file's text merged over it. Throws
 * ConfigError (variable PATCHDAY_ENV_FILE, naming the file and the key) when the
 * text is not JSON of that shape, has no entry for `hostname`, or the entry sets
 * something that is not a setting.
 */
export function mergeEnvFile (env: Readonly<Record<string, string | undefined>>, fileText: string, hostname: string): Record<string, string | undefined> {
  const file = env[ENV_FILE_VARIABLE] ?? ''
  const bad = (why: string): never => { throw new ConfigError(ENV_FILE_VARIABLE, file, why) }
  let parsed: unknown
  try {
    parsed = JSON.parse(fileText)
  } catch (err) {
    return bad(`is not valid JSON (${(err as Error).message.replace(/\s+/g, ' ')})`)
  }
  if (!isPlainObject(parsed)) return bad('expected an object of host names')
  if (!Object.hasOwn(parsed, hostname)) return bad(`has no entry for this host ${JSON.stringify(hostname)}`)
  const entry = parsed[hostname]
  if (!isPlainObject(entry)) return bad(`entry ${JSON.stringify(hostname)} is not an object of PATCHDAY_* strings`)
  const merged: Record<string, string | undefined> = { ...env }
  for (const [k, v] of Object.entries(entry)) {
    if (!SETTABLE.has(k)) bad(`entry ${JSON.stringify(hostname)}: ${k} is not a setting (see docs/config.md)`)
    if (typeof v !== 'string') bad(`entry ${JSON.stringify(hostname)}: ${k} is not a string`)
    merged[k] = v as string
  }
  return merged
}
