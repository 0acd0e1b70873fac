/**
 * The orchestrator's side of docker/supervise.sh, the process restart mode of
 * the compose runtime: each container stays up and its peer process is
 * stopped and started by signals sent through the engine (`kill` with a
 * signal is one API call: no network setup, no runc, no shim), and the
 * supervisor writes the peer's state to a file in a host folder mounted into
 * every container. Reading that file is how a stop or start is known to have
 * happened; its modification time is when.
 */
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { RuntimeError } from '../../errors.ts'

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

export interface StateReading { state: SupervisorState | null, atMs: number }

export class SupervisorFiles {
  readonly dir: string
  constructor (dir: string) { this.dir = dir }

  file (hostname: string): string { return join(this.dir, hostname) }

  /** The supervisor's last word on `hostname`: null before its first (or mid-rewrite). */
  async read (hostname: string): Promise<StateReading> {
    const f = this.file(hostname)
    try {
      const [text, st] = await Promise.all([readFile(f, 'utf8'), stat(f)])
      return { state: parseSupervisorState(text), atMs: Math.round(st.mtimeMs) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: null, atMs: 0 }
      throw err
    }
  }

  /** Drop the state of a container about to start afresh (its supervisor counts from 1 again). */
  async forget (hostname: string): Promise<void> {
    await rm(this.file(hostname), { force: true })
  }

  /** Wait until the state satisfies `done`; null when `timeoutMs` passed first. */
  async waitFor (hostname: string, done: (s: SupervisorState) => boolean, timeoutMs: number, what: string, strict = true): Promise<SupervisorState | null> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const { state } = await this.read(hostname)
      if (state !== null && done(state)) return state
      if (Date.now() >= until) {
        if (strict) throw new RuntimeError(`${what}: the supervisor in container ${hostname} did not report it within ${Math.round(timeoutMs / 1000)} s (state file ${this.file(hostname)}: ${state === null ? 'none' : `${state.state} ${state.starts}`})`)
        return null
      }
      await sleep(POLL_MS)
    }
  }
}
