/**
 * What /proc says about this machine's patchday processes: their start times
 * (so that a recycled pid is never signalled) and, from their environment, the
 * run and peer each belongs to. Only the local runtime reads this.
 */
import { readFile, readdir } from 'node:fs/promises'

/** The variable the local runtime sets on every process it spawns: the run's folder (not a peer setting; the peer ignores it). */
export const RUN_DIR_VARIABLE = 'PATCHDAY_LOCAL_RUN_DIR'

/** One patchday process found in /proc. */
export interface RunProcess {
  pid: number
  runId: string
  /** PATCHDAY_PEER: `login`, `p-017`. */
  peer: string
  /** PATCHDAY_ROLE: `peer` or `login`. */
  role: string
  /** The run folder the local runtime started it for; null for a process it did not start (a container's, or one started by hand). */
  runDir: string | null
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

/** A process's environment (/proc/<pid>/environ: NUL-separated KEY=value) as a map; only PATCHDAY_ keys are kept. */
export function parseEnviron (text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=')
    if (eq > 0 && entry.startsWith('PATCHDAY_')) out.set(entry.slice(0, eq), entry.slice(eq + 1))
  }
  return out
}

/** The patchday process an environment describes, or null when it has no run id. */
export function runProcessOf (pid: number, env: Map<string, string>): RunProcess | null {
  const runId = env.get('PATCHDAY_RUN_ID')
  if (runId === undefined || runId === '') return null
  return { pid, runId, peer: env.get('PATCHDAY_PEER') ?? '?', role: env.get('PATCHDAY_ROLE') ?? '?', runDir: env.get(RUN_DIR_VARIABLE) ?? null }
}

/** Every process of this user on this machine whose environment carries a PATCHDAY_RUN_ID (other users' are unreadable and skipped). */
export async function scanRunProcesses (): Promise<RunProcess[]> {
  const out: RunProcess[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    if (pid === process.pid) continue
    let text: string
    try {
      text = await readFile(`/proc/${entry}/environ`, 'latin1')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES') continue
      throw err
    }
    // Cheap test first: most processes of a machine are not ours.
    if (!text.includes('PATCHDAY_RUN_ID=')) continue
    const p = runProcessOf(pid, parseEnviron(text))
    if (p !== null) out.push(p)
  }
  return out
}

/** Pids of processes whose environment says they belong to this run. */
export async function findRunProcesses (runId: string): Promise<number[]> {
  return (await scanRunProcesses()).filter(p => p.runId === runId).map(p => p.pid)
}

/**
 * Pids of the processes the local runtime started for this run (they carry its
 * run folder), not those of a container that names the same run id in its
 * environment (a compose.yaml network): what the local runtime may signal.
 */
export async function findLocalRunProcesses (runId: string): Promise<number[]> {
  return (await scanRunProcesses()).filter(p => p.runId === runId && p.runDir !== null).map(p => p.pid)
}

/** Send a signal; false when the process is gone. */
export function signal (pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
}
