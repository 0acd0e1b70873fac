/**
 * The orchestrator's side of docker/supervise.sh, the process restart mode of
 * the container runtimes (compose and Swarm): each container stays up and its
 * peer process is stopped and started by signals sent through the engine
 * (`kill` with a signal is one API call: no network setup, no runc, no shim,
 * and on Swarm the task, its address and its DNS name stay), and the
 * supervisor writes the peer's state to a file in a host folder mounted into
 * every container. Reading that file is how a stop or start is known to have
 * happened; its modification time is when.
 *
 * SupervisorFiles reads and waits on the state files; SupervisedPeers is the
 * signal protocol on one running container, which both runtimes use through
 * DockerRuntimeBase (runtime/docker/engine.ts). Which file is whose is the
 * runtime's to say: the container's hostname, which the supervisor names its
 * file after.
 */
import { watch } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type Docker from 'dockerode'
import type { Journal } from '../../run/journal.ts'
import { RuntimeError } from '../../errors.ts'
import type { StopOutcome } from '../runtime.ts'

/** What docker/supervise.sh does on each signal. */
export const SUPERVISOR_SIGNALS = { stop: 'SIGUSR1', kill: 'SIGHUP', start: 'SIGUSR2' } as const

export type SupervisorState =
  | { state: 'running', starts: number, pid: number }
  | { state: 'exited', starts: number, exitCode: number }

/** One state line (`running <starts> <pid>` or `exited <starts> <code>`), or null for anything else (a file being rewritten). Pure. */
export function parseSupervisorState (text: string): SupervisorState | null {
  const m = /^(running|exited) (\d+) (\d+)\n?$/.exec(text)
  if (m === null) return null
  const starts = Number(m[2])
  const n = Number(m[3])
  return m[1] === 'running' ? { state: 'running', starts, pid: n } : { state: 'exited', starts, exitCode: n }
}

/** How often a waiting operation reads the state file. */
const POLL_MS = 20
/** How long a signalled supervisor may take to report a start or a kill (a loaded host). */
export const SUPERVISOR_REPORT_MS = 30_000
/** The exit code of a process killed with SIGKILL (128 + 9). */
const KILLED_EXIT = 137

export interface StateReading { state: SupervisorState | null, atMs: number }

export class SupervisorFiles {
  readonly dir: string
  constructor (dir: string) { this.dir = dir }

  file (key: string): string { return join(this.dir, key) }

  /** The supervisor's last word on `key` (a container's hostname): null before its first (or mid-rewrite). */
  async read (key: string): Promise<StateReading> {
    const f = this.file(key)
    try {
      const [text, st] = await Promise.all([readFile(f, 'utf8'), stat(f)])
      return { state: parseSupervisorState(text), atMs: Math.round(st.mtimeMs) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: null, atMs: 0 }
      throw err
    }
  }

  /** Wait until the state satisfies `done` (given the file's time too); null when `timeoutMs` passed first and not `strict`. */
  async waitFor (key: string, done: (s: SupervisorState, atMs: number) => boolean, timeoutMs: number, what: string, strict: false): Promise<SupervisorState | null>
  async waitFor (key: string, done: (s: SupervisorState, atMs: number) => boolean, timeoutMs: number, what: string, strict?: true): Promise<SupervisorState>
  async waitFor (key: string, done: (s: SupervisorState, atMs: number) => boolean, timeoutMs: number, what: string, strict = true): Promise<SupervisorState | null> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const { state, atMs } = await this.read(key)
      if (state !== null && done(state, atMs)) return state
      if (Date.now() >= until) {
        if (strict) throw new RuntimeError(`${what}: the supervisor in container ${key} did not report it within ${Math.round(timeoutMs / 1000)} s (state file ${this.file(key)}: ${state === null ? 'none' : `${state.state} ${state.starts}`})`)
        return null
      }
      await sleep(POLL_MS)
    }
  }
}

/** A peer whose container runs: what a signal goes to, and where its supervisor reports. */
export interface SupervisedPeer {
  name: string
  container: Docker.Container
  /** Its state file in the ctl folder (the container's hostname). */
  key: string
  /** The supervisor's last word, when the peer was looked up. */
  state: SupervisorState | null
}

/** The signal protocol of docker/supervise.sh, one running container at a time. */
export class SupervisedPeers {
  readonly files: SupervisorFiles
  constructor (dir: string) { this.files = new SupervisorFiles(dir) }

  /**
   * Start the peer process of a running container. `runningIsDone`: a peer found running is
   * started already (Swarm started it at deploy), rather than an error.
   */
  async start (p: SupervisedPeer, o: { beforeStart: () => Promise<void>, runningIsDone: boolean }): Promise<void> {
    // A supervisor yet to say its first word (its container has just started) may not have set its
    // traps yet, and an early USR2 would end it: wait for that word rather than signal.
    const now = p.state ?? await this.files.waitFor(p.key, () => true, SUPERVISOR_REPORT_MS, `starting ${p.name}`)
    if (now.state === 'running') {
      if (o.runningIsDone) return
      throw new RuntimeError(`${p.name} is already running`)
    }
    await o.beforeStart()
    await p.container.kill({ signal: SUPERVISOR_SIGNALS.start })
    await this.files.waitFor(p.key, st => st.state === 'running' && st.starts > now.starts, SUPERVISOR_REPORT_MS, `starting ${p.name}`)
  }

  /** After the container of a peer was started: wait for its supervisor's report of the launch (a change from `before`). */
  async started (key: string, before: StateReading, name: string): Promise<void> {
    const same = (st: SupervisorState, atMs: number): boolean => atMs === before.atMs && JSON.stringify(st) === JSON.stringify(before.state)
    await this.files.waitFor(key, (st, atMs) => !same(st, atMs), SUPERVISOR_REPORT_MS, `starting ${name}`)
  }

  /** SIGTERM to the peer process; SIGKILL once `graceMs` passed (the grace period is ours to enforce, as Docker's stop timeout would be). */
  async stop (p: SupervisedPeer, graceMs: number): Promise<StopOutcome> {
    if (p.state?.state !== 'running') return 'absent'
    const starts = p.state.starts
    const exited = (st: SupervisorState): boolean => st.state === 'exited' && st.starts >= starts
    await p.container.kill({ signal: SUPERVISOR_SIGNALS.stop })
    const done = await this.files.waitFor(p.key, exited, graceMs, `stopping ${p.name}`, false)
    if (done !== null) return done.state === 'exited' && done.exitCode === KILLED_EXIT ? 'killed' : 'stopped'
    await p.container.kill({ signal: SUPERVISOR_SIGNALS.kill })
    await this.files.waitFor(p.key, exited, SUPERVISOR_REPORT_MS, `killing ${p.name}`)
    return 'killed'
  }

  /** SIGKILL to the peer process: a power cut. */
  async kill (p: SupervisedPeer): Promise<StopOutcome> {
    if (p.state?.state !== 'running') return 'absent'
    const starts = p.state.starts
    await p.container.kill({ signal: SUPERVISOR_SIGNALS.kill })
    await this.files.waitFor(p.key, st => st.state === 'exited' && st.starts >= starts, SUPERVISOR_REPORT_MS, `killing ${p.name}`)
    return 'killed'
  }

  /** Is the peer of a running container running (its supervisor has not reported an exit)? */
  async running (key: string): Promise<boolean> {
    return (await this.files.read(key)).state?.state !== 'exited'
  }

  /** Why a peer whose container runs is down (its supervisor reported an exit), with its last lines of error output. */
  explain (key: string, s: Extract<SupervisorState, { state: 'exited' }>, errorTail: string[]): string {
    const why = `peer process exited with code ${s.exitCode} (its ${s.starts}${ordinal(s.starts)} start; container ${key} still running)`
    return errorTail.length === 0 ? `${why}, no error output` : `${why}: ${errorTail.join(' | ')}`
  }

  /** Journal every change a supervisor reports (`runtime.event`, scope process) until the signal aborts; `names` maps state files to peers. */
  watch (names: ReadonlyMap<string, string>, journal: Pick<Journal, 'event'>, signal: AbortSignal): void {
    const seen = new Map<string, string>()
    const onChange = (key: string): void => {
      const name = names.get(key)
      if (name === undefined) return
      this.files.read(key).then(({ state, atMs }) => {
        if (state === null) return
        const k = `${state.state} ${state.starts}`
        if (seen.get(key) === k) return
        seen.set(key, k)
        journal.event('runtime.event', { target: name, action: state.state === 'running' ? 'start' : 'die', atMs, ...(state.state === 'exited' ? { exitCode: state.exitCode } : {}), scope: 'process' })
      }, () => {})
    }
    // Where inotify reaches (the supervisors write on this host's file system): one event per change.
    const watcher = watch(this.files.dir, { signal }, (_type, file) => { if (file !== null) onChange(file.toString()) })
    watcher.on('error', () => {})
  }
}

function ordinal (n: number): string {
  return n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'
}
