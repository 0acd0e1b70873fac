#!/usr/bin/env node
// npm run bench [-- --sizes 50,100,200,500 --settle-ms 15000 --logins 1000 --login-runs 3]
//
// For each network size: `patchday up` on a fresh runs folder, then
//  - time from `up` to steady (the CLI's own figure and wall time),
//  - real memory per peer: drop in MemAvailable per process, and mean PSS,
//  - CPU a peer used to boot (median of the boot events' cpuUs),
//  - login-server CPU per login in the network: the login process's CPU after its
//    own start-up (last stats counters minus the boot event's cpuUs) divided by
//    logins served, and the handler's own share (login.served cpuUs),
// then `patchday down`. Last, the login server's CPU per login in isolation
// (bench/login-cpu.mjs: one client, a new connection per login; median of --login-runs).
// Results are printed as Markdown tables and written to bench/results/<time>.json.
// Timings belong here, never in pass/fail tests.
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, mkdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, cpus } from 'node:os'
import { join } from 'node:path'
import { benchArgs, bin, memAvailableKb, pssKb, root } from './lib.mjs'
const arg = benchArgs(['--sizes', '--settle-ms', '--logins', '--login-runs'], usage)
const sizes = arg('--sizes', '50,100,200,500').split(',').map(Number)
const settleMs = Number(arg('--settle-ms', '15000'))
const isolatedLogins = Number(arg('--logins', '1000'))
const isolatedRuns = Number(arg('--login-runs', '3'))
if (!sizes.every(n => Number.isInteger(n) && n >= 1 && n <= 5000)) usage('--sizes: a comma list of network sizes 1..5000')
if (!(settleMs >= 0)) usage('--settle-ms: a number of milliseconds')
if (!Number.isInteger(isolatedLogins) || isolatedLogins < 1) usage('--logins: a positive integer')
if (!Number.isInteger(isolatedRuns) || isolatedRuns < 1) usage('--login-runs: a positive integer')

function usage (why) {
  console.error(`bench/run.mjs: ${why}`)
  console.error('options: --sizes 50,100,200,500 --settle-ms 15000 --logins 1000 --login-runs 3 (--help for more)')
  process.exit(2)
}

const sleep = (ms) => new Promise(r => setTimeout(r, ms))

function cli (runsDir, args) {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, PATCHDAY_RUNS_DIR: runsDir }, encoding: 'utf8', timeout: 15 * 60_000 })
  if (r.status !== 0) throw new Error(`patchday ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

function events (file) {
  return readFileSync(file, 'utf8').split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l))
}

const results = []
for (const n of sizes) {
  const runsDir = mkdtempSync(join(tmpdir(), `patchday-bench-${n}-`))
  const before = memAvailableKb()
  const t0 = Date.now()
  let row
  try {
    const up = JSON.parse(cli(runsDir, ['up', '--peers', String(n), '--seed', `bench-${n}`, '--timeout', '10m', '--json']))
    const wallMs = Date.now() - t0
    await sleep(settleMs) // let start-up garbage be collected and the network settle
    const after = memAvailableKb()
    const run = join(runsDir, up.runId)
    const pids = readdirSync(join(run, 'pids')).map(f => JSON.parse(readFileSync(join(run, 'pids', f), 'utf8')).pid)
    const pss = pids.map(pssKb).filter(x => x !== null)
    const status = JSON.parse(cli(runsDir, ['status', '--json']))
    const login = events(join(run, 'logs', 'login.log'))
    const served = login.filter(e => e.ev === 'login.served' && e.outcome === 'ok')
    const handlerUs = served.reduce((a, e) => a + e.cpuUs, 0)
    const lastStats = login.filter(e => e.ev === 'stats').at(-1)
    const loginBoot = login.find(e => e.ev === 'boot')
    const procUs = lastStats && loginBoot ? lastStats.cpuUserUs + lastStats.cpuSystemUs - loginBoot.cpuUs : null
    const bootCpu = readdirSync(join(run, 'logs')).filter(f => /^p-\d+\.log$/.test(f))
      .map(f => events(join(run, 'logs', f)).find(e => e.ev === 'boot')?.cpuUs).filter(x => x !== undefined).sort((a, b) => a - b)
    row = {
      peers: n,
      steadyMs: up.elapsedMs,
      wallMs,
      onlineAtSteady: up.online,
      onlineAfterSettle: status.online,
      supernodes: status.supernodes,
      memDropPerProcessMb: +((before - after) / pids.length / 1024).toFixed(1),
      pssMeanMb: +(pss.reduce((a, b) => a + b, 0) / pss.length / 1024).toFixed(1),
      bootCpuMsMedian: bootCpu.length ? Math.round(bootCpu[bootCpu.length >> 1] / 1000) : null,
      loginsServed: served.length,
      loginHandlerCpuMsPerLogin: served.length ? +(handlerUs / served.length / 1000).toFixed(2) : null,
      loginProcessCpuMsPerLogin: procUs !== null && served.length ? +(procUs / served.length / 1000).toFixed(2) : null
    }
  } finally {
    try { cli(runsDir, ['down', '--grace', '3s']) } catch (err) { console.error(String(err)) }
    rmSync(runsDir, { recursive: true, force: true })
  }
  results.push(row)
  console.error(JSON.stringify(row))
}

// The isolated login figure varies by about ±10% between runs (V8's tiering differs): the median of a few.
const loginRuns = []
for (let i = 0; i < isolatedRuns; i++) {
  const isolated = spawnSync(process.execPath, [join(root, 'bench', 'login-cpu.mjs'), '--logins', String(isolatedLogins)], { encoding: 'utf8', timeout: 15 * 60_000 })
  if (isolated.status !== 0) throw new Error(`bench/login-cpu.mjs failed (${isolated.status}): ${isolated.stderr}`)
  loginRuns.push(JSON.parse(isolated.stdout.trim().split('\n').at(-1)))
  console.error(JSON.stringify(loginRuns.at(-1)))
}
const byCpu = [...loginRuns].sort((a, b) => a.loginServerCpuMsPerLogin - b.loginServerCpuMsPerLogin)
const loginCpu = { ...byCpu[byCpu.length >> 1], runs: loginRuns.map(r => r.loginServerCpuMsPerLogin) }

console.log('| peers | up → steady | online at steady / after settle | supernodes | memory per process (MemAvailable drop) | PSS mean | boot CPU per peer (median) | login CPU per login in the network (handler / login process after its start-up) |')
console.log('|---|---|---|---|---|---|---|---|')
for (const r of results) {
  console.log(`| ${r.peers} | ${(r.steadyMs / 1000).toFixed(1)} s | ${r.onlineAtSteady} / ${r.onlineAfterSettle} | ${r.supernodes} | ${r.memDropPerProcessMb} MB | ${r.pssMeanMb} MB | ${r.bootCpuMsMedian} ms | ${r.loginHandlerCpuMsPerLogin} / ${r.loginProcessCpuMsPerLogin} ms |`)
}
console.log('')
console.log(`Login server in isolation (${loginCpu.logins} logins, a new connection each, median of ${loginCpu.runs.length} runs: ${loginCpu.runs.join(', ')}): ${loginCpu.loginServerCpuMsPerLogin} ms CPU per login (user ${loginCpu.userMsPerLogin}, system ${loginCpu.systemMsPerLogin}; main thread ${loginCpu.msPerLoginByThread.main} ms).`)
mkdirSync(join(root, 'bench', 'results'), { recursive: true })
const out = join(root, 'bench', 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, node: process.version, results, loginCpu }, null, 2))
console.error(`written ${out}`)
