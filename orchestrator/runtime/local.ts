/**
 * The local runtime: every peer a detached Node.js process on this machine,
 * running the bundled peer (dist/peer.mjs), its stdout appended straight to its
 * log file (no pipe through the orchestrator, so the orchestrator may exit or
 * die while the network runs on).
 *
 * Each spawn is recorded in pids/<name>.json with the kernel's start time of the
 * process, so that `down` never signals a recycled pid, and a process is also
 * found by its PATCHDAY_RUN_ID in /proc when the record is missing.
 */
import { spawn } from 'node:child_process'
import { openSync, closeSync, existsSync } from 'node:fs'
import { mkdir, readFile, readdir } from 'node:fs/promises'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { runningNames, type EndpointRequest, type Endpoint, type ProcessSpec, type ProcessStatus, type Runtime, type StopOutcome, type TeardownResult } from './runtime.ts'
import { localEndpoint } from './local-addresses.ts'
import { type RunDir, writeJsonAtomic } from '../run/dir.ts'
import { RuntimeError } from '../errors.ts'

/**
 * V8 flags for peers: a 1 MB young generation (measured to cut a peer's memory
 * by about a third) and V8's platform pool sized to the cores (0 = automatic: 2
 * threads here instead of 4). PATCHDAY_PEER_NODE_FLAGS replaces them
 * (space-separated) for experiments, for the login server too.
 */
export const PEER_NODE_FLAGS = ['--max-semi-space-size=1', '--v8-pool-size=0']

/**
 * The login server is one process, where memory is cheap and CPU per login is
 * the budget: it keeps V8's default young generation (a 1 MB one cost it 7% of
 * its CPU in garbage collection).
 */
export const LOGIN_NODE_FLAGS: string[] = []

export function peerNodeFlags (env: Record<string, string | undefined> = process.env, role = 'peer'): string[] {
  const custom = env.PATCHDAY_PEER_NODE_FLAGS
  if (custom !== undefined) return custom.split(/\s+/).filter(f => f !== '')
  return role === 'login' ? LOGIN_NODE_FLAGS : PEER_NODE_FLAGS
}
const POLL_MS = 50
/** How long a SIGKILLed process may take to vanish before we stop waiting. */
const KILL_WAIT_MS = 5000
/** Processes stopped at once by teardown. */
export const STOP_PARALLEL_MAX = 64
/** Lines of a process's error output quoted when it exited. */
const EXPLAIN_LINES = 5

const PidRecord = z.object({ name: z.string(), pid: z.number().int().positive(), startTicks: z.string() })
type PidRecord = z.infer<typeof PidRecord>

/** Shared by every run in the runs folder (Node keys it by its version and the file's content). */
export function compileCacheDir (run: RunDir): string {
  return join(run.root, '..', '.cache', 'node-compile')
}

export function peerBundle (): string {
  // dist/cli.mjs and dist/peer.mjs sit side by side; from source (tests), ../../dist.
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [join(here, 'peer.mjs'), join(here, '..', '..', 'dist', 'peer.mjs')]
  const found = candidates.find(p => existsSync(p))
  if (found === undefined) throw new RuntimeError(`peer bundle not found (looked for ${candidates.join(', ')}): run 'npm run build'`)
  return found
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; null when the process is gone. */
export async function processStartTicks (pid: number): Promise<string | null> {
  let stat: string
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return null
    throw err
  }
  // The command name (field 2) may contain spaces; fields after the last ')' are fixed.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  if (rest[0] === 'Z') return null // a zombie has exited already
  return rest[19] ?? null
}

/** Pids of processes whose environment says they belong to this run. */
export async function findRunProcesses (runId: string): Promise<number[]> {
  const needle = `\0PATCHDAY_RUN_ID=${runId}\0`
  const out: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const env = '\0' + await readFile(`/proc/${entry}/environ`, 'latin1')
      if (env.includes(needle)) out.push(Number(entry))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ESRCH' && code !== 'EACCES') throw err
    }
  }
  return out.filter(p => p !== process.pid)
}

function signal (pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
}

export class LocalRuntime implements Runtime {
  readonly name = 'local'
  readonly secrets = 'files'
  readonly restartMode = 'process'
  private readonly run: RunDir
  private bundleFile: string | null = null

  constructor (run: RunDir) {
    this.run = run
  }

  /** Found on first use: `status` and `down` need no build. */
  private get bundle (): string {
    this.bundleFile ??= peerBundle()
    return this.bundleFile
  }

  endpoint (p: EndpointRequest): Endpoint { return localEndpoint(p) }

  wiring (p: EndpointRequest): Record<string, string> {
    const e = localEndpoint(p)
    return {
      PATCHDAY_STATE_DIR: this.run.stateDir(p.name),
      PATCHDAY_LISTEN_IP: e.listenHost,
      PATCHDAY_PORT: String(e.port),
      ...(p.group === 'login' ? { PATCHDAY_ACCOUNTS_FILE: this.run.accountsFile } : {})
    }
  }

  async prepare (): Promise<void> {
    void this.bundle
    await mkdir(this.pidsDir, { recursive: true })
  }

  async syncLogs (): Promise<void> {}
  /** Processes append to their log files themselves (stdout is the file): nothing to collect. */
  async collectLogs (): Promise<void> {}

  async explainExit (name: string): Promise<string> {
    const err = this.run.errFile(name)
    const text = await readFile(err, 'utf8').catch(() => '')
    const last = text.trimEnd().split('\n').filter(l => l !== '').slice(-EXPLAIN_LINES)
    return last.length === 0 ? `no error output (see ${err})` : `${last.join(' | ')} (see ${err})`
  }

  private get pidsDir (): string { return join(this.run.root, 'pids') }
  private pidFile (name: string): string { return join(this.pidsDir, `${name}.json`) }

  private async record (name: string): Promise<PidRecord | null> {
    try {
      return PidRecord.parse(JSON.parse(await readFile(this.pidFile(name), 'utf8')))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
  }

  /** The live pid of `name`, or null (a record whose process is gone or was recycled counts as gone). */
  async pid (name: string): Promise<number | null> {
    const rec = await this.record(name)
    if (rec === null) return null
    return (await processStartTicks(rec.pid)) === rec.startTicks ? rec.pid : null
  }

  async start (spec: ProcessSpec): Promise<void> {
    if (await this.pid(spec.name) !== null) throw new RuntimeError(`${spec.name} is already running`)
    const out = openSync(this.run.logFile(spec.name), 'a')
    const err = openSync(this.run.errFile(spec.name), 'a')
    try {
      const child = spawn(process.execPath, [...peerNodeFlags(process.env, spec.env.PATCHDAY_ROLE), this.bundle], {
        detached: true,
        stdio: ['ignore', out, err],
        // V8's code cache on disk: hundreds of peers compile the same bundle once, not each.
        // DEBUG passes through: with it set, a peer keeps libp2p's own debug logger (node/libp2p-logger.ts).
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_COMPILE_CACHE: compileCacheDir(this.run), ...(process.env.DEBUG !== undefined ? { DEBUG: process.env.DEBUG } : {}), ...spec.env }
      })
      const pid = child.pid
      if (pid === undefined) throw new RuntimeError(`could not spawn ${spec.name}`)
      child.unref()
      const startTicks = await processStartTicks(pid)
      if (startTicks === null) throw new RuntimeError(`${spec.name} exited at once; see ${this.run.errFile(spec.name)}`)
      await writeJsonAtomic(this.pidFile(spec.name), { name: spec.name, pid, startTicks })
    } finally {
      closeSync(out)
      closeSync(err)
    }
  }

  private async waitGone (pid: number, ticks: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      if (await processStartTicks(pid) !== ticks) return true
      await sleep(POLL_MS)
    }
    return await processStartTicks(pid) !== ticks
  }

  async stop (name: string, graceMs: number): Promise<StopOutcome> {
    const rec = await this.record(name)
    if (rec === null) return 'absent'
    const ticks = await processStartTicks(rec.pid)
    if (ticks !== rec.startTicks) return 'absent'
    signal(rec.pid, 'SIGTERM')
    if (await this.waitGone(rec.pid, ticks, graceMs)) return 'stopped'
    signal(rec.pid, 'SIGKILL')
    await this.waitGone(rec.pid, ticks, KILL_WAIT_MS)
    return 'killed'
  }

  async kill (name: string): Promise<StopOutcome> {
    const rec = await this.record(name)
    if (rec === null) return 'absent'
    const ticks = await processStartTicks(rec.pid)
    if (ticks !== rec.startTicks) return 'absent'
    signal(rec.pid, 'SIGKILL')
    await this.waitGone(rec.pid, ticks, KILL_WAIT_MS)
    return 'killed'
  }

  async names (): Promise<string[]> {
    const files = await readdir(this.pidsDir).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return [] as string[]; throw err })
    return files.filter(f => f.endsWith('.json')).map(f => f.slice(0, -'.json'.length)).sort()
  }

  async list (): Promise<ProcessStatus[]> {
    return await Promise.all((await this.names()).map(async (name) => {
      const pid = await this.pid(name)
      return pid === null ? { name, running: false } : { name, running: true, id: String(pid) }
    }))
  }

  /** Stragglers: processes of this run that no record names (the orchestrator died between spawn and record). */
  private async strays (): Promise<number[]> {
    const known = new Set((await this.list()).flatMap(p => p.id === undefined ? [] : [Number(p.id)]))
    return (await findRunProcesses(this.run.runId)).filter(p => !known.has(p))
  }

  /** SIGTERM then SIGKILL for bare pids. */
  private static async stopPids (pids: number[], graceMs: number): Promise<{ stopped: number, killed: number }> {
    const live = (await Promise.all(pids.map(async pid => ({ pid, ticks: await processStartTicks(pid) })))).filter(p => p.ticks !== null)
    for (const p of live) signal(p.pid, 'SIGTERM')
    const deadline = Date.now() + graceMs
    let left = live
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(POLL_MS)
      left = (await Promise.all(left.map(async p => ({ ...p, now: await processStartTicks(p.pid) })))).filter(p => p.now === p.ticks)
    }
    for (const p of left) signal(p.pid, 'SIGKILL')
    return { stopped: live.length - left.length, killed: left.length }
  }

  /** Every process of the run: recorded ones (peers first, the login server last), then strays found by run id. */
  async teardown (graceMs: number): Promise<TeardownResult> {
    const names = [...await runningNames(this)]
    // Peers leaving say goodbye to supernodes, not to the login server: it goes last.
    names.sort((a, b) => Number(a === 'login') - Number(b === 'login'))
    let stopped = 0; let killed = 0
    for (let i = 0; i < names.length; i += STOP_PARALLEL_MAX) {
      const outcomes = await Promise.all(names.slice(i, i + STOP_PARALLEL_MAX).map(async n => await this.stop(n, graceMs)))
      stopped += outcomes.filter(o => o === 'stopped').length
      killed += outcomes.filter(o => o === 'killed').length
    }
    // Processes no record names (an orchestrator killed between spawn and record): found by their run id.
    const strays = await this.strays()
    const s = await LocalRuntime.stopPids(strays, graceMs)
    return { stopped: stopped + s.stopped, killed: killed + s.killed, strays: strays.length, removed: 0 }
  }
}
