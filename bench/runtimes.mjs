#!/usr/bin/env node
// npm run bench:runtimes [-- --sizes 100,300 --runtimes local,compose[,compose:process,compose:host,compose:process:host] --scenario scenarios/skype-2007.yaml
//                           --settle-ms 15000 --storm-share 0.5 --storm-window 10s]
//
// Processes against containers, side by side. For each size, one runtime after the other, each
// on a fresh runs folder (PATCHDAY_RUNS_DIR), always `patchday down` at the end:
//  - `up --runtime R`: time to steady (the CLI's elapsedMs) and wall time;
//  - after --settle-ms: memory per process/container as the drop in MemAvailable from before
//    `up` (this includes a container's overhead: containerd-shim, docker's bookkeeping), PSS
//    mean for local processes, and for container runtimes the mean of one `docker stats
//    --no-stream` (skipped when it takes over 60 s); status (online / peers, supernodes);
//  - a storm (`storm --share S --window W --boot-delay 2s`): lateness of its ops as the
//    orchestrator journalled them (storm.op invoked, lateMs p50 / p99 / max) and the time until
//    online is back to what it was before the storm (waiting at most 3 minutes).
// Then, per runtime, `run <scenario> --runtime R` once: verdict, recovery and the report's
// runtimeLag note (`--scenario none` skips it).
// Markdown tables on stdout, everything in bench/results/runtimes-<time>.json, progress on stderr.
// Timings belong here, never in pass/fail tests. Run it alone on the machine: memory is
// measured host-wide.
import { benchArgs, cliAsync, events, mb, memAvailableKb, onInterrupt, pssKb, quantile, root } from './lib.mjs'
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, mkdirSync, writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir, cpus, totalmem } from 'node:os'
import { join, resolve } from 'node:path'

const arg = benchArgs(['--sizes', '--runtimes', '--scenario', '--settle-ms', '--storm-share', '--storm-window'], usage)
const sizes = arg('--sizes', '100,300').split(',').map(s => Number(s.trim()))
const runtimes = arg('--runtimes', 'local,compose').split(',').map(s => s.trim()).filter(Boolean)
const scenarioArg = arg('--scenario', 'scenarios/skype-2007.yaml')
const scenario = scenarioArg === 'none' ? null : resolve(scenarioArg)
const settleMs = Number(arg('--settle-ms', '15000'))
const stormShare = arg('--storm-share', '0.5')
const stormWindow = arg('--storm-window', '10s')

function usage (why) {
  console.error(`bench/runtimes.mjs: ${why}`)
  console.error('options: --sizes 100,300 --runtimes local,compose --scenario <file>|none --settle-ms 15000 --storm-share 0.5 --storm-window 10s (--help for more)')
  process.exit(2)
}
if (sizes.some(n => !Number.isInteger(n) || n < 1)) usage('--sizes: positive integers, comma-separated')
if (runtimes.length === 0 || runtimes.some(r => !['local', 'compose', 'compose:process', 'compose:host', 'compose:process:host', 'swarm', 'swarm:container'].includes(r))) usage('--runtimes: local, compose, compose:process (--restart-mode process), compose:host (--network host), compose:process:host (both), swarm (process restarts) and/or swarm:container (--restart-mode container)')
if (!Number.isFinite(settleMs) || settleMs < 0) usage('--settle-ms: a number of milliseconds')
if (!(Number(stormShare) > 0 && Number(stormShare) <= 1)) usage('--storm-share: a share in (0, 1]')
if (scenario !== null && !existsSync(scenario)) usage(`--scenario: no file ${scenario}`)

/** How long any one CLI call may take before it is stopped. */
const LIMIT = { up: 15 * 60_000, status: 2 * 60_000, storm: 10 * 60_000, down: 5 * 60_000, run: 60 * 60_000 }
const RECOVERY_WAIT_MS = 3 * 60_000
const STATUS_POLL_MS = 3000
const DOCKER_STATS_LIMIT_MS = 60_000

const log = (line) => { process.stderr.write(`[bench:runtimes] ${line}\n`) }
const sleep = (ms) => new Promise(r => setTimeout(r, ms))

// A container runtime needs a Docker engine that answers: say so before anything starts.
if (runtimes.some(r => r !== 'local')) {
  const d = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 30_000 })
  if (d.error !== undefined || d.status !== 0) {
    const why = d.error?.code === 'ENOENT' ? 'no docker CLI on PATH' : d.error?.code === 'ETIMEDOUT' ? 'docker did not answer within 30 s' : (d.stderr || '').trim().split('\n').at(-1)
    console.error(`bench/runtimes.mjs: --runtimes ${runtimes.join(',')} needs a Docker engine, which is not reachable: ${why}`)
    console.error('start Docker (or point DOCKER_HOST at it), build the image (npm run docker:build), or run with --runtimes local')
    process.exit(1)
  }
  log(`docker engine ${d.stdout.trim()}`)
}

/** One patchday call on `runsDir`: stdout collected, stderr forwarded as progress; stopped after `limitMs`. */
const cli = (runsDir, args, limitMs) => cliAsync(runsDir, args, { limitMs, progress: l => process.stderr.write(`  | ${l}\n`), onChild: c => { current.child = c } })
const cliJson = async (runsDir, args, limitMs) => JSON.parse((await cli(runsDir, args, limitMs)).trim().split('\n').at(-1))

/** What to undo if the bench is interrupted: the child running now and the runs folder in use. */
const current = { child: null, runsDir: null }
onInterrupt({ log, stop: () => { current.child?.kill('SIGTERM') }, runsDir: () => current.runsDir, downLimitMs: LIMIT.down })

/** Stop everything of every run in `runsDir`; remove the folder only when that worked. */
async function teardown (runsDir) {
  try {
    await cli(runsDir, ['down', '--all', '--grace', '3s'], LIMIT.down)
    rmSync(runsDir, { recursive: true, force: true })
  } catch (err) {
    log(`down failed, runs folder kept for inspection and cleanup: ${runsDir}: ${err.message}`)
  } finally {
    current.runsDir = null
  }
}

/**
 * `compose:process` is the compose runtime with --restart-mode process; `swarm:container` Swarm with
 * --restart-mode container; a `:host` part adds --network host (`compose:host`, `compose:process:host`).
 */
function runtimeArgs (spec) {
  const [kind, ...parts] = spec.split(':')
  const mode = parts.find(p => p === 'process' || p === 'container')
  return ['--runtime', kind, ...(mode !== undefined ? ['--restart-mode', mode] : []), ...(parts.includes('host') ? ['--network', 'host'] : [])]
}

function lateness (ops) {
  const late = ops.map(e => e.lateMs).sort((a, b) => a - b)
  return { ops: late.length, p50Ms: quantile(late, 0.5), p99Ms: quantile(late, 0.99), maxMs: late.at(-1) ?? null }
}

/** docker stats' "12.34MiB / 23.4GiB" in MB. */
function statsMb (usage) {
  const m = /^([\d.]+)\s*([KMGT]?i?B)/.exec(usage.trim())
  if (m === null) return null
  const unit = { B: 1 / 1048576, KiB: 1 / 1024, KB: 1000 / 1048576, MiB: 1, MB: 1e6 / 1048576, GiB: 1024, GB: 1e9 / 1048576, TiB: 1048576 }[m[2]]
  return unit === undefined ? null : Number(m[1]) * unit
}

/** Mean memory of the run's containers from one `docker stats --no-stream`; null when not cheap. */
function dockerStatsMeanMb (runId) {
  const t0 = Date.now()
  const ids = spawnSync('docker', ['ps', '-q', '--filter', `label=patchday.run=${runId}`], { encoding: 'utf8', timeout: 30_000 })
  const list = ids.status === 0 ? ids.stdout.split('\n').filter(Boolean) : []
  if (list.length === 0) return { meanMb: null, containers: 0, ms: Date.now() - t0, note: 'no running containers found by label' }
  const r = spawnSync('docker', ['stats', '--no-stream', '--format', '{{.MemUsage}}', ...list], { encoding: 'utf8', timeout: DOCKER_STATS_LIMIT_MS, maxBuffer: 16 << 20 })
  const ms = Date.now() - t0
  if (r.error !== undefined || r.status !== 0) return { meanMb: null, containers: list.length, ms, note: r.error?.code === 'ETIMEDOUT' ? `skipped: docker stats took over ${DOCKER_STATS_LIMIT_MS / 1000} s` : `docker stats failed: ${(r.stderr || '').trim()}` }
  const values = r.stdout.split('\n').filter(Boolean).map(statsMb).filter(x => x !== null)
  return { meanMb: values.length ? +(values.reduce((a, b) => a + b, 0) / values.length).toFixed(1) : null, containers: values.length, ms, note: null }
}

async function measureSize (runtime, n) {
  const runsDir = mkdtempSync(join(tmpdir(), `patchday-bench-rt-${runtime.replaceAll(":", "-")}-${n}-`))
  current.runsDir = runsDir
  const row = { runtime, peers: n, runsDir, error: null }
  try {
    const before = memAvailableKb()
    const t0 = Date.now()
    log(`${runtime} ${n}: up`)
    const up = await cliJson(runsDir, ['up', ...runtimeArgs(runtime), '--peers', String(n), '--seed', `bench-${n}`, '--timeout', '10m', '--json'], LIMIT.up)
    Object.assign(row, { runId: up.runId, steadyMs: up.elapsedMs, wallMs: Date.now() - t0, onlineAtSteady: up.online })
    log(`${runtime} ${n}: steady after ${(up.elapsedMs / 1000).toFixed(1)} s (wall ${(row.wallMs / 1000).toFixed(1)} s); settling ${settleMs / 1000} s`)
    await sleep(settleMs)
    const after = memAvailableKb()
    const settled = await cliJson(runsDir, ['status', '--json'], LIMIT.status)
    const run = join(runsDir, up.runId)
    Object.assign(row, {
      onlineAfterSettle: settled.online,
      peersAfterSettle: settled.peers,
      supernodesAfterSettle: settled.supernodes,
      running: settled.running,
      memDropKb: before - after,
      memDropPerProcessMb: settled.running > 0 ? mb((before - after) / settled.running) : null
    })
    if (runtime === 'local') {
      const pidsDir = join(run, 'pids')
      const pids = existsSync(pidsDir) ? readdirSync(pidsDir).map(f => { try { return JSON.parse(readFileSync(join(pidsDir, f), 'utf8')).pid } catch { return null } }).filter(Boolean) : []
      const pss = pids.map(pssKb).filter(x => x !== null)
      row.pssMeanMb = pss.length ? mb(pss.reduce((a, b) => a + b, 0) / pss.length) : null
    } else {
      row.dockerStats = dockerStatsMeanMb(up.runId)
    }
    log(`${runtime} ${n}: ${settled.online}/${settled.peers} online after the settle, ${row.memDropPerProcessMb} MB per process (MemAvailable drop over ${settled.running})`)

    // The storm, then wait for online to come back to what it was.
    const onlineBefore = settled.online
    log(`${runtime} ${n}: storm --share ${stormShare} --window ${stormWindow}`)
    const s0 = Date.now()
    const storm = await cliJson(runsDir, ['storm', '--share', stormShare, '--window', stormWindow, '--boot-delay', '2s', '--seed', 'bench', '--json'], LIMIT.storm)
    const stormEnd = Date.now()
    let online = null
    let recoveredMs = null
    while (Date.now() - stormEnd <= RECOVERY_WAIT_MS) {
      online = (await cliJson(runsDir, ['status', '--json'], LIMIT.status)).online
      if (online >= onlineBefore) { recoveredMs = Date.now() - stormEnd; break }
      await sleep(STATUS_POLL_MS)
    }
    const ops = events(join(run, 'logs', 'orchestrator.log')).filter(e => e.ev === 'storm.op' && e.stormId === storm.stormId && e.status === 'invoked')
    row.storm = {
      stormId: storm.stormId,
      ok: storm.ok,
      failed: storm.failed,
      wallMs: stormEnd - s0,
      onlineBefore,
      onlineAtEnd: online,
      recoveredAfterStormMs: recoveredMs,
      recoveredFromStartMs: recoveredMs === null ? null : stormEnd - s0 + recoveredMs,
      late: lateness(ops),
      lateByOp: Object.fromEntries(['stop', 'kill', 'start'].map(op => [op, lateness(ops.filter(e => e.op === op))]).filter(([, l]) => l.ops > 0))
    }
    log(`${runtime} ${n}: storm ${storm.ok} ops ok, ${storm.failed} failed, late p50/p99/max ${row.storm.late.p50Ms}/${row.storm.late.p99Ms}/${row.storm.late.maxMs} ms; ` +
      (recoveredMs === null ? `online ${online}/${onlineBefore}, not recovered within ${RECOVERY_WAIT_MS / 1000} s` : `online back to ${onlineBefore} ${(recoveredMs / 1000).toFixed(1)} s after the storm command`))
  } catch (err) {
    row.error = err.message
    log(`${runtime} ${n}: ${err.message}`)
  } finally {
    log(`${runtime} ${n}: down`)
    await teardown(runsDir)
  }
  return row
}

async function runScenario (runtime) {
  const runsDir = mkdtempSync(join(tmpdir(), `patchday-bench-rt-${runtime.replaceAll(":", "-")}-scenario-`))
  current.runsDir = runsDir
  const row = { runtime, scenario, error: null }
  try {
    log(`${runtime}: run ${scenario}`)
    const t0 = Date.now()
    const r = await cliJson(runsDir, ['run', scenario, ...runtimeArgs(runtime), '--json'], LIMIT.run)
    Object.assign(row, { runId: r.runId, verdict: r.verdict, expect: r.expect, recoveryS: r.recoveryS, hostSaturated: r.hostSaturated, reasons: r.reasons, wallMs: Date.now() - t0 })
    const reportFile = join(runsDir, r.runId, 'report.json')
    const report = existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : null
    row.runtimeLag = report?.runtimeLag ?? null
    log(`${runtime}: ${r.verdict}${r.expect !== null ? ` (expected ${r.expect})` : ''}, recovery ${r.recoveryS ?? 'never'}; ${row.runtimeLag?.note ?? 'no runtimeLag in report.json'}`)
  } catch (err) {
    row.error = err.message
    log(`${runtime} scenario: ${err.message}`)
  } finally {
    await teardown(runsDir)
  }
  return row
}

const results = []
for (const n of sizes) {
  for (const runtime of runtimes) results.push(await measureSize(runtime, n))
}
const scenarios = []
if (scenario !== null) for (const runtime of runtimes) scenarios.push(await runScenario(runtime))

const s = (ms) => ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`
const v = (x, unit = '') => x === null || x === undefined ? '–' : `${x}${unit}`
console.log(`| runtime | peers | up → steady (wall) | online after settle / peers | supernodes | memory per process or container (MemAvailable drop) | PSS mean / docker stats mean | storm ops ok / failed (storm command wall) | storm lateness p50 / p99 / max | online back to its pre-storm count, after the storm command |`)
console.log('|---|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  if (r.error !== null && r.steadyMs === undefined) { console.log(`| ${r.runtime} | ${r.peers} | error: ${r.error.replace(/\|/g, '/').slice(0, 200)} | | | | | | | |`); continue }
  const perProc = r.runtime === 'local' ? v(r.pssMeanMb, ' MB PSS') : v(r.dockerStats?.meanMb, ' MB stats')
  const st = r.storm
  const back = st === undefined ? '–' : st.recoveredAfterStormMs === null ? `not within ${RECOVERY_WAIT_MS / 1000} s (${st.onlineAtEnd} of ${st.onlineBefore})` : `${s(st.recoveredAfterStormMs)} (${st.onlineBefore})`
  console.log(`| ${r.runtime} | ${r.peers} | ${s(r.steadyMs)} (${s(r.wallMs)}) | ${v(r.onlineAfterSettle)} / ${v(r.peersAfterSettle)} | ${v(r.supernodesAfterSettle)} | ${v(r.memDropPerProcessMb, ' MB')} | ${perProc} | ${st ? `${st.ok} / ${st.failed} (${s(st.wallMs)})` : '–'} | ${st ? `${v(st.late.p50Ms)} / ${v(st.late.p99Ms)} / ${v(st.late.maxMs)} ms` : '–'} | ${back}${r.error !== null ? ` (error: ${r.error.replace(/\|/g, '/').slice(0, 120)})` : ''} |`)
}
if (scenarios.length > 0) {
  console.log('')
  console.log(`| runtime | scenario | verdict (expected) | recovery after the storm | runtime lag (report.json runtimeLag) |`)
  console.log('|---|---|---|---|---|')
  for (const r of scenarios) {
    const name = r.scenario.replace(`${root}/`, '')
    if (r.verdict === undefined) { console.log(`| ${r.runtime} | ${name} | error: ${(r.error ?? '').replace(/\|/g, '/').slice(0, 200)} | | |`); continue }
    console.log(`| ${r.runtime} | ${name} | ${r.verdict}${r.expect !== null ? ` (${r.expect})` : ''} | ${r.recoveryS === null ? 'never' : `${r.recoveryS} s`} | ${r.runtimeLag?.note ?? '–'} |`)
  }
}
mkdirSync(join(root, 'bench', 'results'), { recursive: true })
const out = join(root, 'bench', 'results', `runtimes-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(out, JSON.stringify({
  date: new Date().toISOString(),
  cores: cpus().length,
  memTotalMb: Math.round(totalmem() / 1048576),
  node: process.version,
  options: { sizes, runtimes, scenario, settleMs, stormShare: Number(stormShare), stormWindow, stormBootDelay: '2s', recoveryWaitMs: RECOVERY_WAIT_MS },
  results,
  scenarios
}, null, 2))
log(`written ${out}`)
if (results.some(r => r.error !== null) || scenarios.some(r => r.error !== null)) process.exitCode = 1
