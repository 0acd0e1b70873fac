/**
 * The patchday process entry point: a peer (client/supernode) or the login
 * server, by PATCHDAY_ROLE. Every setting comes from the environment
 * (node/contract/config.ts); a bad value exits with code 2 and names the variable,
 * and so does a corrupt state file (StateFileError: it names the file and what to
 * do). Anything else is a crash: a stack trace mapped to the sources, exit 1.
 */
import { flushCompileCache } from 'node:module'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { parseConfig, type PeerConfig } from './contract/config.ts'
import { ConfigError, StateFileError } from './contract/errors.ts'
import { ENV_FILE_VARIABLE, MOUNTINFO_FILE, envFileKey, mergeEnvFile } from './contract/env-file.ts'
import { startProcess, type Running } from './start.ts'
import { SHUTDOWN_GRACE_MS } from './constants.ts'
import { crash, installCrashHandler } from './crash.ts'

/** Bad input (a setting, a state file) ends the process with one line and exit 2; anything else is rethrown: a crash. */
function configError (err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`patchday peer: ${err.message}\n`)
    process.exit(2)
  }
  if (err instanceof StateFileError) {
    process.stderr.write(`patchday peer: corrupt state file ${err.message}\n`)
    process.exit(2)
  }
  throw err
}

/** The environment with this host's (or container's: PATCHDAY_ENV_KEY) entry of PATCHDAY_ENV_FILE (when set) merged over it. */
function environment (env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const file = env[ENV_FILE_VARIABLE]
  if (file === undefined || file === '') return env
  const key = envFileKey(env, hostname(), () => readFileSync(MOUNTINFO_FILE, 'utf8'))
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(ENV_FILE_VARIABLE, file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}), so there is no entry for this host ${JSON.stringify(key)}`)
  }
  return mergeEnvFile(env, text, key)
}

async function main (): Promise<void> {
  const major = Number(process.versions.node.split('.')[0])
  if (major < 22) {
    process.stderr.write(`patchday peer: Node.js 22 or later is required, this is ${process.version}\n`)
    process.exit(2)
  }
  let config: PeerConfig
  let running: Running | undefined
  let stopping = false
  /** A signal that came while the process was starting: acted on as soon as it runs. */
  let pending: string | null = null
  const shutdown = (signal: string): void => {
    if (stopping) return
    // A stop that hangs must not keep the process alive: the runtime's SIGKILL is the last word, this is ours.
    if (pending === null) setTimeout(() => { process.exit(0) }, SHUTDOWN_GRACE_MS).unref()
    if (running === undefined) {
      pending = signal
      return
    }
    stopping = true
    const r = running
    r.log.event('shutdown', { signal })
    r.stop().then(() => {
      process.exit(0)
    }, (err: unknown) => {
      r.log.warn({ err: (err as Error).message }, 'unclean shutdown')
      process.exit(1)
    })
  }
  // Before the start: a stop that arrives between the boot line and the end of the start
  // (an orchestrator may stop a peer as soon as it has booted) is a clean shutdown, not
  // the default action of the signal.
  process.on('SIGTERM', () => { shutdown('SIGTERM') })
  process.on('SIGINT', () => { shutdown('SIGINT') })
  try {
    config = parseConfig(environment(process.env))
    running = await startProcess(config)
  } catch (err) {
    configError(err)
  }
  // Node writes its compile cache (NODE_COMPILE_CACHE) only at exit, and peers run
  // until the network stops: without this, no peer of a run would ever load the
  // bundle from the cache (measured: 7 MB more memory and 70 ms more CPU each).
  flushCompileCache()
  if (pending !== null) shutdown(pending)
}

installCrashHandler(import.meta.url)
await main().catch((err: unknown) => crash(err, import.meta.url))
