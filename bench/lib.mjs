// Helpers the benches share (bench/run.mjs, bench/runtimes.mjs, bench/attacks.mjs, bench/login-cpu.mjs):
// pino log lines, quantiles, what /proc says about memory and CPU, options, and the interrupt handler.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The project's root, and the CLI every bench drives. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const bin = join(root, 'bin', 'patchday.mjs')

/** The pino lines of a log file, unparsable ones skipped; [] when it does not exist. */
export function events (file) {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8').split('\n').filter(l => l.startsWith('{')).flatMap(l => { try { return [JSON.parse(l)] } catch { return [] } })
}

/** As orchestrator/analysis/lag.ts computes it; null for no samples. */
export function quantile (sorted, q) {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

/** Clock ticks per second of the CPU times in /proc/<pid>/stat (USER_HZ: 100 on Linux for x86 and arm). */
export const CLOCK_TICKS_PER_S = 100

/** kB as MB, one decimal. */
export const mb = (kb) => +(kb / 1024).toFixed(1)

/** The machine's MemAvailable, in kB. */
export function memAvailableKb () {
  return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))[1])
}

/** A /proc file of a process that may be gone: its text, or null. */
function procText (path) {
  try { return readFileSync(path, 'utf8') } catch { return null }
}

/** A process's proportional set size (shared pages split among their users), in kB; null when it is gone. */
export function pssKb (pid) {
  const m = /^Pss:\s+(\d+)/m.exec(procText(`/proc/${pid}/smaps_rollup`) ?? '')
  return m === null ? null : Number(m[1])
}

/** A process's resident set size (VmRSS), in kB; null when it is gone. */
export function rssKb (pid) {
  const m = /^VmRSS:\s+(\d+)/m.exec(procText(`/proc/${pid}/status`) ?? '')
  return m === null ? null : Number(m[1])
}

/**
 * A process's or a thread's /proc stat file (`/proc/<pid>/stat`, `/proc/<pid>/task/<tid>/stat`): its
 * name, user and system CPU in clock ticks, and its start time (which tells it from a later process
 * with the same pid); null when it is gone.
 */
export function procStat (path) {
  const s = procText(path)
  if (s === null) return null
  // The name (field 2) may hold spaces and parentheses; the fields after the last ')' are fixed.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return { name: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), user: Number(f[11]), system: Number(f[12]), startTicks: f[19] }
}

/** utime + stime of a process, in clock ticks; null when it is gone. */
export function cpuTicks (pid) {
  const s = procStat(`/proc/${pid}/stat`)
  return s === null ? null : s.user + s.system
}

/**
 * The options of a bench (`--name value` pairs): only names in `known`, each with a value, else
 * `usage(why)`. Returns the getter `arg(name, default)`.
 */
export function benchArgs (known, usage) {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    // The script's own header comment is its documentation.
    const header = []
    for (const line of readFileSync(process.argv[1], 'utf8').split('\n').slice(1)) {
      if (!line.startsWith('//')) break
      header.push(line.replace(/^\/\/ ?/, ''))
    }
    process.stdout.write(header.join('\n') + '\n')
    process.exit(0)
  }
  for (let i = 0; i < argv.length; i += 2) {
    if (!known.includes(argv[i]) || argv[i + 1] === undefined) usage(`unknown or incomplete option ${JSON.stringify(argv[i])}`)
  }
  return (name, def) => { const i = argv.indexOf(name); return i >= 0 && i % 2 === 0 ? argv[i + 1] : def }
}

/**
 * On SIGINT or SIGTERM (once): `stop()` what the bench runs in its own process, then `down --all` on the
 * runs folder in use (`runsDir()`, null when none), which is kept for inspection; exit 130.
 */
export function onInterrupt ({ log, stop, runsDir, downLimitMs }) {
  let stopping = false
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      if (stopping) return
      stopping = true
      log(`${sig}: stopping`)
      stop()
      const dir = runsDir()
      if (dir !== null) {
        spawnSync(process.execPath, [bin, 'down', '--all', '--grace', '3s'], { cwd: root, env: { ...process.env, PATCHDAY_RUNS_DIR: dir }, stdio: ['ignore', 'inherit', 'inherit'], timeout: downLimitMs })
        log(`runs folder kept: ${dir}`)
      }
      process.exit(130)
    })
  }
}

/**
 * One patchday call on `runsDir`, not blocking this process (a bench's samplers and attacks run on):
 * resolves with its stdout, rejects when it fails or outlives `limitMs` (SIGTERM, then SIGKILL 30 s
 * later). `progress(line)` gets its stderr lines; `onChild(child | null)` is told of the process
 * while it runs (to stop it on an interrupt).
 */
export function cliAsync (runsDir, args, { limitMs, progress = () => {}, onChild = () => {} }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, PATCHDAY_RUNS_DIR: runsDir }, stdio: ['ignore', 'pipe', 'pipe'] })
    onChild(child)
    let out = ''
    let err = ''
    let partial = ''
    child.stdout.setEncoding('utf8').on('data', d => { out += d })
    child.stderr.setEncoding('utf8').on('data', d => {
      err = (err + d).slice(-8000)
      const lines = (partial + d).split(/\r|\n/)
      partial = lines.pop()
      for (const l of lines) if (l.trim() !== '') progress(l)
    })
    let timedOut = false
    let killer
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
      killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    }, limitMs)
    child.on('error', e => { clearTimeout(timer); reject(e) })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      clearTimeout(killer)
      onChild(null)
      if (timedOut) reject(new Error(`patchday ${args.join(' ')}: stopped after ${Math.round(limitMs / 1000)} s`))
      else if (code !== 0) reject(new Error(`patchday ${args.join(' ')} failed (${code ?? signal}): ${err.trim().split('\n').slice(-5).join(' | ')}`))
      else resolve(out)
    })
  })
}

/**
 * The CPU a changing set of processes uses over a window (processes restart and get new pids):
 * `sample(pids)` now and then; `ticks()` is what they used since the first sample, a process that
 * started later counted from its start, one that ended up to its last sample.
 */
export function cpuMeter () {
  const seen = new Map()
  let first = true
  return {
    sample (pids) {
      for (const pid of pids) {
        const s = procStat(`/proc/${pid}/stat`)
        if (s === null) continue
        const key = `${pid}:${s.startTicks}`
        const e = seen.get(key)
        if (e === undefined) seen.set(key, { from: first ? s.user + s.system : 0, to: s.user + s.system })
        else e.to = s.user + s.system
      }
      first = false
    },
    ticks () { return [...seen.values()].reduce((sum, e) => sum + e.to - e.from, 0) }
  }
}
