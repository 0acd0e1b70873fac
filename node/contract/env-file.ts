/**
 * The env file (PATCHDAY_ENV_FILE): per-host settings for the replicas of a
 * scaled container service, which all start from one image and one
 * environment. The orchestrator writes
 *
 *   { "<hostname>": { "PATCHDAY_PEER": "p-017", "PATCHDAY_CAPACITY_CLASS": "2", ... }, ... }
 *
 * and each process, at start-up and before its config is parsed, merges the
 * entry of its own host name (os.hostname(): a container's id or its
 * configured hostname) over its environment. Containers on the host network
 * all have the host's name: with PATCHDAY_ENV_KEY=container-id the key is the
 * container's short id, read from /proc/self/mountinfo, instead.
 */
import { CONFIG_SPEC } from './config.ts'
import { ConfigError } from './errors.ts'

export const ENV_FILE_VARIABLE = 'PATCHDAY_ENV_FILE'
export const ENV_KEY_VARIABLE = 'PATCHDAY_ENV_KEY'
/** Where a container finds its own id (Docker bind-mounts its hostname, hosts and resolv.conf from /var/lib/docker/containers/<id>/). */
export const MOUNTINFO_FILE = '/proc/self/mountinfo'
/** Docker's default hostname of a container, and the env file's key by container id: the first 12 characters of its id. */
export const SHORT_ID_CHARS = 12

export type EnvFile = Record<string, Record<string, string>>

/** Variables an entry may set: every setting but the env file itself and how its key is found. */
const SETTABLE = new Set<string>(Object.values(CONFIG_SPEC).map(s => s.env).filter(e => e !== ENV_FILE_VARIABLE && e !== ENV_KEY_VARIABLE))

/** This container's full id (64 hex) from the text of /proc/self/mountinfo, or null when no mount names one. Pure. */
export function containerIdFromMountinfo (text: string): string | null {
  for (const line of text.split('\n')) {
    const m = /\/containers\/([0-9a-f]{64})\//.exec(line)
    if (m !== null) return m[1] as string
  }
  return null
}

/**
 * The key of this process's entry in the env file: its host name, or with
 * PATCHDAY_ENV_KEY=container-id its container's short id (from `mountinfo()`,
 * the text of /proc/self/mountinfo, read only then). Throws ConfigError naming
 * PATCHDAY_ENV_KEY when the value is neither or no container id is found.
 */
export function envFileKey (env: Readonly<Record<string, string | undefined>>, hostname: string, mountinfo: () => string): string {
  const how = env[ENV_KEY_VARIABLE] ?? 'hostname'
  if (how === '' || how === 'hostname') return hostname
  if (how !== 'container-id') throw new ConfigError(ENV_KEY_VARIABLE, how, 'expected one of hostname, container-id')
  let text: string
  try {
    text = mountinfo()
  } catch (err) {
    throw new ConfigError(ENV_KEY_VARIABLE, how, `cannot read ${MOUNTINFO_FILE} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  const id = containerIdFromMountinfo(text)
  if (id === null) throw new ConfigError(ENV_KEY_VARIABLE, how, `no container id in ${MOUNTINFO_FILE} (no mount from a Docker containers/<id>/ folder): is this process in a Docker container?`)
  return id.slice(0, SHORT_ID_CHARS)
}

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
