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
import { runningNames, type EndpointRequest, type Endpoint, type ProcessSpec, type ProcessStatus, type Runtime, type StopOutcome, type TeardownResult } from './runtime.ts'
import { localEndpoint } from './local-addresses.ts'
import { checkLoopbackFree } from './local-networks.ts'
import { type RunDir, writeJsonAtomic } from '../run/dir.ts'
import { RuntimeError } from '../errors.ts'
import { readPidRecord, type PidRecordRead } from './pid-record.ts'
import { RUN_DIR_VARIABLE, findLocalRunProcesses, processStartTicks, scanRunProcesses, signal, type RunProcess } from './local-procs.ts'

export { findRunProcesses, processStartTicks } from './local-procs.ts'

/**
 * A ceiling on V8's old generation (MB), for every role. Without one, V8 sizes
 * its heap for this machine's memory (up to 4 GB) and lets garbage pile up
 * before its first full collections: a login server refusing 70,000 sockets in
 * 15 s grew from 70 to 183 MB of RSS with 14 MB live (a forced GC took it back
 * to 85 MB), and supernodes under attack grew by 60-70 MB. With a ceiling its
 * heuristics collect early; the live heap of a peer or the login server is 10-30
 * MB here, far below it (measured, BENCHMARKS.md: "Attacks from one hostile
 * peer"). A process that really needed more would stop with a heap-out-of-memory
 * crash, in its .err file.
 */
export const OLD_SPACE_MAX_MB = 256

/**
 * V8 flags for peers: a 1 MB young generation (measured to cut a peer's memory
 * by about a third), V8's platform pool sized to the cores (0 = automatic: 2
 * threads here instead of 4), and the old generation's ceiling.
 * PATCHDAY_PEER_NODE_FLAGS replaces them (space-separated) for experiments, for
 * the login server too.
 */
export const PEER_NODE_FLAGS = ['--max-semi-space-size=1', '--v8-pool-size=0', `--max-old-space-size=${OLD_SPACE_MAX_MB}`]

/**
 * The login server is one process, where memory is cheap and CPU per login is
 * the budget: it keeps V8's default young generation (a 1 MB one cost it 7% of
 * its CPU in garbage collection), with the old generation's ceiling.
 */
export const LOGIN_NODE_FLAGS: string[] = [`--max-old-space-size=${OLD_SPACE_MAX_MB}`]

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

/** A live process: its pid and kernel start time (which tell it from a later process that got the same pid). */
interface Located { target: { pid: number, ticks: string } | null, problem?: string }

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
      PATCHDAY_ARM_FILE: this.run.armFile,
      ...(p.group === 'login' ? { PATCHDAY_ACCOUNTS_FILE: this.run.accountsFile } : {})
    }
  }

  /** One local network at a time: every run binds the same loopback addresses. */
  async checkAvailable (): Promise<void> {
    await checkLoopbackFree()
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

  /** pids/<name>.json: null when there is none, else the record or what is wrong with it (never throws: `down` must go on). */
  private async readRecord (name: string): Promise<PidRecordRead | null> {
    return await readPidRecord(name, this.pidFile(name))
  }

  /**
   * The live process of `name`, by its record; when the record is unusable, by
   * its run id and name in /proc (`scan`, shared by the callers of one listing),
   * with the problem, so that a bad record neither hides a process nor stops a teardown.
   */
  private async locate (name: string, scan: () => Promise<RunProcess[]> = async () => await scanRunProcesses()): Promise<Located> {
    const read = await this.readRecord(name)
    if (read === null) return { target: null }
    if (read.ok) {
      const ticks = await processStartTicks(read.record.pid)
      return { target: ticks !== null && ticks === read.record.startTicks ? { pid: read.record.pid, ticks } : null }
    }
    const problem = `pids/${name}.json: ${read.problem}`
    const found = (await scan()).find(p => p.runId === this.run.runId && p.runDir !== null && p.peer === name)
    const ticks = found === undefined ? null : await processStartTicks(found.pid)
    return { target: found !== undefined && ticks !== null ? { pid: found.pid, ticks } : null, problem }
  }

  /** The live pid of `name`, or null (a record whose process is gone or was recycled counts as gone). */
  async pid (name: string): Promise<number | null> {
    return (await this.locate(name)).target?.pid ?? null
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
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_COMPILE_CACHE: compileCacheDir(this.run), [RUN_DIR_VARIABLE]: this.run.root, ...(process.env.DEBUG !== undefined ? { DEBUG: process.env.DEBUG } : {}), ...spec.env }
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
    const t = (await this.locate(name)).target
    if (t === null) return 'absent'
    signal(t.pid, 'SIGTERM')
    if (await this.waitGone(t.pid, t.ticks, graceMs)) return 'stopped'
    signal(t.pid, 'SIGKILL')
    await this.waitGone(t.pid, t.ticks, KILL_WAIT_MS)
    return 'killed'
  }

  async kill (name: string): Promise<StopOutcome> {
    const t = (await this.locate(name)).target
    if (t === null) return 'absent'
    signal(t.pid, 'SIGKILL')
    await this.waitGone(t.pid, t.ticks, KILL_WAIT_MS)
    return 'killed'
  }

  async names (): Promise<string[]> {
    const files = await readdir(this.pidsDir).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return [] as string[]; throw err })
    return files.filter(f => f.endsWith('.json')).map(f => f.slice(0, -'.json'.length)).sort()
  }

  /** Every recorded process; one with an unusable record carries the `problem` (and is looked up in /proc by its run id and name). */
  async list (): Promise<ProcessStatus[]> {
    let scanned: Promise<RunProcess[]> | null = null
    const scan = async (): Promise<RunProcess[]> => await (scanned ??= scanRunProcesses())
    return await Promise.all((await this.names()).map(async (name): Promise<ProcessStatus> => {
      const { target, problem } = await this.locate(name, scan)
      return { name, running: target !== null, ...(target !== null ? { id: String(target.pid) } : {}), ...(problem !== undefined ? { problem } : {}) }
    }))
  }

  /** Stragglers: processes of this run that no record names (the orchestrator died between spawn and record). */
  private async strays (): Promise<number[]> {
    // Records that cannot be listed (teardown said so already) make every process of the run a stray: all are stopped by pid.
    const known = new Set((await this.list().catch(() => [])).flatMap(p => p.id === undefined ? [] : [Number(p.id)]))
    return (await findLocalRunProcesses(this.run.runId)).filter(p => !known.has(p))
  }

  /** Of `procs`, those still running (the same pid with the same start time) after at most `ms`. */
  private static async stillRunning<P extends { pid: number, ticks: string | null }> (procs: P[], ms: number): Promise<P[]> {
    const deadline = Date.now() + ms
    let left = procs
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(POLL_MS)
      left = (await Promise.all(left.map(async p => ({ p, now: await processStartTicks(p.pid) })))).filter(x => x.now === x.p.ticks).map(x => x.p)
    }
    return left
  }

  /** SIGTERM then SIGKILL for bare pids; returns once the killed ones are gone (or KILL_WAIT_MS passed). */
  private static async stopPids (pids: number[], graceMs: number): Promise<{ stopped: number, killed: number }> {
    const live = (await Promise.all(pids.map(async pid => ({ pid, ticks: await processStartTicks(pid) })))).filter(p => p.ticks !== null)
    for (const p of live) signal(p.pid, 'SIGTERM')
    const left = await LocalRuntime.stillRunning(live, graceMs)
    for (const p of left) signal(p.pid, 'SIGKILL')
    await LocalRuntime.stillRunning(left, KILL_WAIT_MS)
    return { stopped: live.length - left.length, killed: left.length }
  }

  /** Every process of the run: recorded ones (peers first, the login server last), then strays found by run id, whatever the records look like. */
  async teardown (graceMs: number): Promise<TeardownResult> {
    // Records are a courtesy (peers stop before the login server); the sweep by run id below is what guarantees the end.
    const names = [...await runningNames(this).catch((err: unknown) => {
      process.stderr.write(`patchday: ${this.run.runId}: process records unusable (${(err as Error).message}); stopping the run's processes by run id\n`)
      return new Set<string>()
    })]
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
    // `down` succeeds only when nothing of the run is left.
    const left = await findLocalRunProcesses(this.run.runId)
    if (left.length > 0) throw new RuntimeError(`${left.length} process(es) of run ${this.run.runId} still run after SIGKILL (pids ${left.slice(0, 10).join(', ')})`)
    return { stopped: stopped + s.stopped, killed: killed + s.killed, strays: strays.length, removed: 0 }
  }
}
