#!/usr/bin/env node
// npm run bench:attacks [-- --seconds 60 --attacks all|1,2,4,... --clients 10 --probe-interval-ms 500 --settle-ms 3000]
//
// Issue 8's benchmark: one attacker against a network of --clients peers (`patchday up` on a
// fresh runs folder: login server, two bootstrap supernodes, real clients), one run per attack
// plus a calm control run, each --seconds long. The attacker runs in this process
// (bench/attack-kit/attacks.ts, the hostile tests' attack code in a loop) against the login
// server or the supernode p-001. A legitimate client in a process of its own
// (bench/attack-kit/probe.ts) logs in and attaches to p-001 every --probe-interval-ms, timing
// both. Per run:
//  - the probe's success rate (ok / all, logins and attaches) and login / attach p50 and p99,
//  - the target's CPU (from /proc/<pid>/stat over the window) and peak RSS (VmRSS sampled every
//    250 ms; growth = peak minus RSS at the window's start),
//  - the real clients' offline and heartbeat.lost events in the window, and the target's log
//    lines (attack 9: does the limiter hold?).
// Targets (issue 8): success rate >= 99% of the control's, p99 <= 2x the control's, RSS growth
// < 50 MB. Networks run with snAttachTicket=required, the protection against attack 6.
// Attack 13 (huge retry hints) is client-side and not run here: see test/integration/hostile-app.test.ts.
// Markdown on stdout, JSON in bench/results/attacks-<time>.json, progress on stderr.
// Run it alone on the machine: latency and CPU are host-wide figures.
import { CLOCK_TICKS_PER_S, benchArgs, bin, cpuTicks, events, mb, onInterrupt, quantile, root, rssKb } from './lib.mjs'
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, mkdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, cpus } from 'node:os'
import { join } from 'node:path'
import { ATTACKS } from './attack-kit/attacks.ts'

const arg = benchArgs(['--seconds', '--attacks', '--clients', '--probe-interval-ms', '--settle-ms'], usage)
const seconds = Number(arg('--seconds', '60'))
const attacksArg = arg('--attacks', 'all')
const clients = Number(arg('--clients', '10'))
const probeIntervalMs = Number(arg('--probe-interval-ms', '500'))
const settleMs = Number(arg('--settle-ms', '3000'))

function usage (why) {
  console.error(`bench/attacks.mjs: ${why}`)
  console.error(`options: --seconds 60 --attacks all|${ATTACKS.map(a => a.id).join(',')} --clients 10 --probe-interval-ms 500 --settle-ms 3000`)
  process.exit(2)
}
if (!(seconds > 0)) usage('--seconds: a positive number')
if (!Number.isInteger(clients) || clients < 3) usage('--clients: an integer, at least 3 (two of them are supernodes)')
if (!(probeIntervalMs >= 50)) usage('--probe-interval-ms: at least 50')
if (!(settleMs >= 0)) usage('--settle-ms: a number of milliseconds')
const chosen = attacksArg === 'all' ? ATTACKS : attacksArg.split(',').map(s => ATTACKS.find(a => a.id === Number(s.trim())) ?? usage(`--attacks: no attack ${JSON.stringify(s)} (known: ${ATTACKS.map(a => a.id).join(',')})`))

/** Targets from issue 8. */
const TARGET = { successVsControlMin: 0.99, p99VsControlMax: 2, rssGrowthMbMax: 50 }
const LIMIT = { up: 3 * 60_000, down: 60_000 }
/** After its signal, an attack gets this long to stop (its in-flight requests time out within 10 s). */
const ATTACK_STOP_MS = 15_000
const RSS_SAMPLE_MS = 250
const SETTINGS = ['snAttachTicket=required']

const log = (line) => { process.stderr.write(`[bench:attacks] ${line}\n`) }
const sleep = (ms) => new Promise(r => setTimeout(r, ms))
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))

function cli (runsDir, args, limitMs) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, PATCHDAY_RUNS_DIR: runsDir }, encoding: 'utf8', timeout: limitMs })
  if (r.status !== 0) throw new Error(`patchday ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`)
  return r.stdout
}

/** What to undo on SIGINT: the attack, the probe, the network. */
const current = { abort: null, probe: null, runsDir: null }
onInterrupt({ log, stop: () => { current.abort?.abort(); current.probe?.kill('SIGTERM') }, runsDir: () => current.runsDir, downLimitMs: LIMIT.down })

function latency (samples) {
  const ok = samples.filter(s => s.ok).map(s => s.ms).sort((a, b) => a - b)
  const r = (x) => x === null ? null : +x.toFixed(1)
  return { n: samples.length, ok: ok.length, p50Ms: r(quantile(ok, 0.5)), p99Ms: r(quantile(ok, 0.99)), outcomes: Object.fromEntries(Object.entries(Object.groupBy(samples, s => s.outcome)).map(([k, v]) => [k, v.length])) }
}

/** The probe: a child process; `ready` once its node runs, `done` with its samples when it ends. */
function startProbe (args) {
  const child = spawn(process.execPath, [join(root, 'bench', 'attack-kit', 'probe.ts'), JSON.stringify(args)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  current.probe = child
  let out = ''
  let err = ''
  let isReady
  const ready = new Promise(resolve => { isReady = resolve })
  child.stdout.setEncoding('utf8').on('data', d => { out += d; if (out.startsWith('ready\n')) isReady() })
  child.stderr.setEncoding('utf8').on('data', d => { err = (err + d).slice(-4000) })
  const done = new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', code => {
      current.probe = null
      isReady()
      if (code !== 0) reject(new Error(`probe exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))
      else resolve(JSON.parse(out.trim().split('\n').at(-1)))
    })
  })
  return { ready, done }
}

/** One network, one window: the attack (or none, for the control) while the probe and the sampler run. */
async function measure (attack) {
  const runsDir = mkdtempSync(join(tmpdir(), `patchday-attacks-${attack?.id ?? 'control'}-`))
  current.runsDir = runsDir
  try {
    const upArgs = ['up', '--peers', String(clients), '--seed', 'bench-attacks', '--timeout', '3m', '--json', ...SETTINGS.flatMap(s => ['--set', s])]
    const up = JSON.parse(cli(runsDir, upArgs, LIMIT.up).trim().split('\n').at(-1))
    const run = join(runsDir, up.runId)
    const meta = readJson(join(run, 'run.json'))
    const snName = meta.peers.find(p => p.bootstrap).name
    const snAddr = events(join(run, 'logs', `${snName}.log`)).find(e => e.ev === 'boot').addr
    const cred = (name) => readJson(join(run, 'peers', name, 'credentials.json'))
    const targetName = attack?.target === 'login' ? 'login' : snName
    const pid = readJson(join(run, 'pids', `${targetName}.json`)).pid
    await sleep(settleMs)

    // The window opens when the probe's node runs, and closes when the attack is told to stop.
    const probe = startProbe({ loginAddr: meta.login.addr, snAddr, ...cred('mega-01'), listenIp: '127.9.0.1', seconds, intervalMs: probeIntervalMs, timeScale: meta.timeScale })
    await probe.ready
    const t0 = Date.now()
    const cpu0 = cpuTicks(pid)
    const rss0 = rssKb(pid)
    let rssPeak = rss0
    const sampler = setInterval(() => { const r = rssKb(pid); if (r !== null && r > rssPeak) rssPeak = r }, RSS_SAMPLE_MS)
    const abort = new AbortController()
    current.abort = abort
    const target = { loginAddr: meta.login.addr, snAddr, timeScale: meta.timeScale, attacker: cred('mega-08'), victims: meta.peers.filter(p => !p.bootstrap).map(p => p.name) }
    const attacking = attack === null ? Promise.resolve({}) : attack.run(target, abort.signal)
    attacking.catch(err => { log(`attack ${attack.id} failed: ${err.stack ?? err}`) })
    let windowS, cpu
    const stopAt = setTimeout(() => {
      windowS = (Date.now() - t0) / 1000
      cpu = cpuTicks(pid) - cpu0
      clearInterval(sampler)
      abort.abort()
    }, seconds * 1000)
    let samples
    try {
      samples = await probe.done
    } finally {
      clearTimeout(stopAt)
      clearInterval(sampler)
      abort.abort()
    }
    windowS ??= (Date.now() - t0) / 1000
    cpu ??= cpuTicks(pid) - cpu0
    const counts = await Promise.race([attacking.catch(err => ({ failed: String(err) })), sleep(ATTACK_STOP_MS).then(() => ({ stopTimedOut: 1 }))])
    current.abort = null

    const inWindow = (e) => e.time >= t0 && e.time <= t0 + windowS * 1000
    const peerEvents = meta.peers.flatMap(p => events(join(run, 'logs', `${p.name}.log`)).filter(inWindow))
    const targetEvents = events(join(run, 'logs', `${targetName}.log`)).filter(inWindow)
    const byEv = Object.fromEntries(Object.entries(Object.groupBy(targetEvents, e => e.ev)).map(([k, v]) => [k, v.length]))
    const all = [...samples.login, ...samples.attach]
    return {
      attack: attack === null ? 'control' : attack.id,
      name: attack === null ? 'calm control' : attack.name,
      target: targetName,
      windowS: +windowS.toFixed(1),
      success: all.length === 0 ? null : all.filter(s => s.ok).length / all.length,
      login: latency(samples.login),
      attach: latency(samples.attach),
      targetCpuPct: +(cpu / CLOCK_TICKS_PER_S / windowS * 100).toFixed(1),
      rssStartMb: mb(rss0),
      rssPeakMb: mb(rssPeak),
      rssGrowthMb: mb(rssPeak - rss0),
      clientsOffline: peerEvents.filter(e => e.ev === 'offline' && e.peer !== snName).length,
      heartbeatsLost: peerEvents.filter(e => e.ev === 'heartbeat.lost').length,
      targetLogLines: targetEvents.length,
      targetEvents: byEv,
      attacker: counts
    }
  } finally {
    current.abort = null
    try {
      cli(runsDir, ['down', '--all', '--grace', '3s'], LIMIT.down)
      rmSync(runsDir, { recursive: true, force: true })
    } catch (err) {
      log(`down failed, runs folder kept for inspection and cleanup: ${runsDir}: ${err.message}`)
    }
    current.runsDir = null
  }
}

/** PASS / MISS against the control, per target; '-' when there is nothing to compare. */
function verdicts (r, control) {
  const ratio = (a, b) => a === null || b === null || b === 0 ? null : a / b
  const success = ratio(r.success, control.success)
  const p99 = [ratio(r.login.p99Ms, control.login.p99Ms), ratio(r.attach.p99Ms, control.attach.p99Ms)]
  const worstP99 = p99.some(x => x === null) ? null : Math.max(...p99)
  return {
    successVsControl: success === null ? null : +success.toFixed(3),
    loginP99VsControl: p99[0] === null ? null : +p99[0].toFixed(2),
    attachP99VsControl: p99[1] === null ? null : +p99[1].toFixed(2),
    success: success === null ? 'MISS' : success >= TARGET.successVsControlMin ? 'PASS' : 'MISS',
    p99: worstP99 === null ? 'MISS' : worstP99 <= TARGET.p99VsControlMax ? 'PASS' : 'MISS',
    rss: r.rssGrowthMb < TARGET.rssGrowthMbMax ? 'PASS' : 'MISS'
  }
}

log(`${seconds} s per run, ${clients} peers, probe every ${probeIntervalMs} ms; runs: control, ${chosen.map(a => a.id).join(', ')}`)
const results = []
for (const attack of [null, ...chosen]) {
  log(`${attack === null ? 'control' : `attack ${attack.id} (${attack.name})`}: up, ${seconds} s window, down`)
  const r = await measure(attack)
  results.push(r)
  log(JSON.stringify(r))
}
const control = results[0]
for (const r of results) r.verdict = verdicts(r, control)

const pct = (x) => x === null ? '-' : `${(x * 100).toFixed(1)} %`
const ms = (x) => x === null ? '-' : `${Math.round(x)}`
const times = (x) => x === null ? '-' : `${x}x`
console.log(`Attacks, ${seconds} s each, ${clients} peers, one attacker; probe login + attach every ${probeIntervalMs} ms (${cpus().length} cores, node ${process.version}).`)
console.log('')
console.log('| attack | target | probe success (vs control) | login p50 / p99 ms (p99 vs control) | attach p50 / p99 ms (p99 vs control) | target CPU | peak RSS (growth) | clients offline | target log lines | success / p99 / RSS |')
console.log('|---|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  const v = r.verdict
  const label = r.attack === 'control' ? 'control' : `${r.attack}: ${r.name}`
  console.log(`| ${label} | ${r.target} | ${pct(r.success)} (${times(v.successVsControl)}) | ${ms(r.login.p50Ms)} / ${ms(r.login.p99Ms)} (${times(v.loginP99VsControl)}) | ${ms(r.attach.p50Ms)} / ${ms(r.attach.p99Ms)} (${times(v.attachP99VsControl)}) | ${r.targetCpuPct} % | ${r.rssPeakMb} MB (+${r.rssGrowthMb}) | ${r.clientsOffline} | ${r.targetLogLines} | ${r.attack === 'control' ? '-' : `${v.success} / ${v.p99} / ${v.rss}`} |`)
}
mkdirSync(join(root, 'bench', 'results'), { recursive: true })
const out = join(root, 'bench', 'results', `attacks-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, node: process.version, seconds, clients, probeIntervalMs, settings: SETTINGS, targets: TARGET, results }, null, 2))
console.error(`written ${out}`)
