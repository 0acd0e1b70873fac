#!/usr/bin/env node
// npm run bench:attacks [-- --seconds 60 --attacks all|1,2,4,... --clients 10 --probe-interval-ms 500 --settle-ms 3000 --attacker-nice 0 --attacker-cpus all --decoy no --repeat 1]
//
// Issue 8's benchmark: one attacker against a network of --clients peers (`patchday up` on a
// fresh runs folder: login server, two bootstrap supernodes, real clients), one run per attack
// plus a calm control run, each --seconds long. The attacker runs in a process of its own
// (bench/attack-kit/attacker.ts: the hostile tests' attack code of attacks.ts in a loop), at
// the niceness --attacker-nice (0: as the rest; 19: it gets the CPU only when the target and the
// probe leave it, as an attacker on a machine of its own would not take theirs) against the login
// server, the supernode p-001, or (attack 13) the real clients. A legitimate client in a process
// of its own (bench/attack-kit/probe.ts) logs in and attaches to p-001 every --probe-interval-ms,
// timing both. Per run:
//  - the probe's success rate (ok / all, logins and attaches) and login / attach p50 and p99,
//  - the target's CPU (from /proc/<pid>/stat over the window) and peak RSS (VmRSS sampled every
//    250 ms; growth = peak minus RSS at the window's start), and what it still holds after the
//    attack (RSS --settle-ms after the attacker ended, minus the start); for attack 13 the target is the real
//    clients: their CPU together (processes that restart counted from their start) and the
//    largest client's RSS,
//  - the real clients' offline and heartbeat.lost events in the window, and the target's log
//    lines (attack 9: does the limiter hold?).
// Targets (issue 8): success rate >= 99% of the control's, p99 <= 2x the control's, RSS growth
// < 50 MB. Networks run with snAttachTicket=required, the protection against attack 6.
// An attack that needs more of the network (attack 13: retryHonorHint=true and a time scale of
// 0.2, and the clients restarted 6 s into the window so that they attach again) gets a control
// run of its own with the same network and restarts. For runs whose clients restart, the clients'
// own logs give: how many came back online in the window and how long after their boot, their
// attach and login tries (ok / all, latency), the longest wait between failed attach rounds
// (emulated ms: capped hints keep it at most retryHintMaxMs) and the hints they clamped.
// Attack 13's verdicts: every client back online, no wait above the cap, client CPU <= 2x the
// control's (a 2^31 ms hint must not become a hot loop).
// --decoy yes adds, after each attack on the login server or a supernode, a decoy run: the same
// attacker process aimed at an address where nothing listens (DECOY_IP, same ports and peer ids),
// so that it spends its own CPU as in the attack while the target gets nothing. The probe's
// figures in the decoy run are what the shared host alone costs; what the attack costs beyond
// them is the target's.
// --attacker-cpus LIST (e.g. 1) pins the attacker to those cores (taskset) and the bench with
// everything it starts (the network, the probe) to the others, as if the attacker had a machine
// of its own: its own CPU then no longer competes with the target's and the probe's, and what
// is left of an attack's cost is what the target's handling of it costs. Control runs are
// pinned the same way. Default all: everything shares every core.
// --repeat N runs the control and each attack N times, alternating (control, attacks; control,
// attacks; ...), each attack compared with the control of its own round; a summary gives every
// round's ratios and the verdicts on their medians (RSS on the largest growth). A p99 of 120 samples
// is the second-slowest sample: one round says little.
// Markdown on stdout, JSON in bench/results/attacks-<time>.json, progress on stderr.
// Run it alone on the machine: latency and CPU are host-wide figures.
import { CLOCK_TICKS_PER_S, benchArgs, bin, cliAsync, cpuMeter, events, mb, onInterrupt, quantile, root, rssKb } from './lib.mjs'
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, mkdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, cpus, setPriority } from 'node:os'
import { join } from 'node:path'
import { ATTACKS } from './attack-kit/attacks.ts'
import { scanRunProcesses } from '../orchestrator/runtime/local-procs.ts'
import { defaultSetting } from '../node/contract/config.ts'

const arg = benchArgs(['--seconds', '--attacks', '--clients', '--probe-interval-ms', '--settle-ms', '--attacker-nice', '--attacker-cpus', '--decoy', '--repeat'], usage)
const seconds = Number(arg('--seconds', '60'))
const attacksArg = arg('--attacks', 'all')
const clients = Number(arg('--clients', '10'))
const probeIntervalMs = Number(arg('--probe-interval-ms', '500'))
const settleMs = Number(arg('--settle-ms', '3000'))
const attackerNice = Number(arg('--attacker-nice', '0'))
const attackerCpusArg = arg('--attacker-cpus', 'all')
const decoyArg = arg('--decoy', 'no')
const repeat = Number(arg('--repeat', '1'))
/** Where a decoy run aims its attacker: a loopback address of the bench's range where nothing listens. */
const DECOY_IP = '127.9.99.1'

function usage (why) {
  console.error(`bench/attacks.mjs: ${why}`)
  console.error(`options: --seconds 60 --attacks all|${ATTACKS.map(a => a.id).join(',')} --clients 10 --probe-interval-ms 500 --settle-ms 3000 --attacker-nice 0 --attacker-cpus all --decoy no --repeat 1 (--help for more)`)
  process.exit(2)
}
if (!(seconds > 0)) usage('--seconds: a positive number')
if (!Number.isInteger(clients) || clients < 3) usage('--clients: an integer, at least 3 (two of them are supernodes)')
if (!(probeIntervalMs >= 50)) usage('--probe-interval-ms: at least 50')
if (!(settleMs >= 0)) usage('--settle-ms: a number of milliseconds')
if (!Number.isInteger(attackerNice) || attackerNice < 0 || attackerNice > 19) usage('--attacker-nice: an integer 0..19 (the attacker\'s niceness; 19 yields the CPU to the target and the probe)')
if (decoyArg !== 'yes' && decoyArg !== 'no') usage('--decoy: yes or no')
const pinning = cpuPinning(attackerCpusArg)
const decoy = decoyArg === 'yes'
if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) usage('--repeat: an integer 1..20 (rounds of control and attacks)')
const chosen = attacksArg === 'all' ? ATTACKS : attacksArg.split(',').map(s => ATTACKS.find(a => a.id === Number(s.trim())) ?? usage(`--attacks: no attack ${JSON.stringify(s)} (known: ${ATTACKS.map(a => a.id).join(',')})`))

/** Targets from issue 8; for attacks on the clients (13), their CPU against the control's too. */
const TARGET = { successVsControlMin: 0.99, p99VsControlMax: 2, rssGrowthMbMax: 50, clientCpuVsControlMax: 2 }
const LIMIT = { up: 3 * 60_000, down: 60_000, storm: 60_000 }
/** The clients' cap on a retry hint (emulated ms), as the bench's networks run them. */
const HINT_CAP_MS = defaultSetting('retryHintMaxMs')
/** After its signal, an attack gets this long to stop (its in-flight requests time out within 10 s). */
const ATTACK_STOP_MS = 15_000
const RSS_SAMPLE_MS = 250
/** The probe's slowest samples kept per run (ms and when in the window), to see where a p99 comes from. */
const SLOWEST_KEPT = 3
const SETTINGS = ['snAttachTicket=required']

const log = (line) => { process.stderr.write(`[bench:attacks] ${line}\n`) }

/**
 * --attacker-cpus: null for all (no pinning), else the attacker's cores and the rest's, both
 * non-empty subsets of the cores this process may use.
 */
function cpuPinning (list) {
  if (list === 'all') return null
  const cores = cpus().length
  const attacker = [...new Set(list.split(',').map(s => Number(s.trim())))].sort((a, b) => a - b)
  if (attacker.some(c => !Number.isInteger(c) || c < 0 || c >= cores)) usage(`--attacker-cpus: a comma list of cores 0..${cores - 1}, or all`)
  const rest = [...Array(cores).keys()].filter(c => !attacker.includes(c))
  if (rest.length === 0) usage(`--attacker-cpus: leave at least one of the ${cores} cores to the network and the probe`)
  if (spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status !== 0) usage('--attacker-cpus needs taskset (util-linux) on the PATH')
  return { attacker: attacker.join(','), rest: rest.join(',') }
}
const sleep = (ms) => new Promise(r => setTimeout(r, ms))
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))

function cli (runsDir, args, limitMs) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, PATCHDAY_RUNS_DIR: runsDir }, encoding: 'utf8', timeout: limitMs })
  if (r.status !== 0) throw new Error(`patchday ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`)
  return r.stdout
}

/** What to undo on SIGINT: the attack, the probe, the network. */
const current = { attacker: null, probe: null, runsDir: null }
onInterrupt({ log, stop: () => { current.attacker?.kill('SIGTERM'); current.probe?.kill('SIGTERM') }, runsDir: () => current.runsDir, downLimitMs: LIMIT.down })

function latency (samples) {
  const okSamples = samples.filter(s => s.ok).sort((a, b) => a.ms - b.ms)
  const ok = okSamples.map(s => s.ms)
  const r = (x) => x === null ? null : +x.toFixed(1)
  // Where the tail is: a p99 of 120 samples is the second-slowest, so name the slowest and when they began.
  const slowest = okSamples.slice(-SLOWEST_KEPT).reverse().map(s => ({ ms: r(s.ms), atS: +(s.atMs / 1000).toFixed(1) }))
  return { n: samples.length, ok: ok.length, p50Ms: r(quantile(ok, 0.5)), p99Ms: r(quantile(ok, 0.99)), slowest, outcomes: Object.fromEntries(Object.entries(Object.groupBy(samples, s => s.outcome)).map(([k, v]) => [k, v.length])) }
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

/**
 * The attacker: a child process at niceness --attacker-nice; `stop()` ends its attack (SIGTERM)
 * and resolves with its counts, or with { stopTimedOut: 1 } if it has not ended within
 * ATTACK_STOP_MS (then it is killed).
 */
function startAttacker (attack, target) {
  const argv = [process.execPath, join(root, 'bench', 'attack-kit', 'attacker.ts'), JSON.stringify({ id: attack.id, target })]
  // taskset execs the attacker in its own place: child.pid is the attacker's.
  if (pinning !== null) argv.unshift('taskset', '-c', pinning.attacker)
  const child = spawn(argv[0], argv.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  current.attacker = child
  if (attackerNice !== 0 && child.pid !== undefined) setPriority(child.pid, attackerNice)
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', d => { out += d })
  child.stderr.setEncoding('utf8').on('data', d => { err = (err + d).slice(-4000) })
  const ended = new Promise(resolve => {
    child.on('error', e => { resolve({ failed: e.message }) })
    child.on('close', code => {
      current.attacker = null
      const last = out.trim().split('\n').at(-1)
      if (code === 0 && last !== undefined && last.startsWith('{')) resolve(JSON.parse(last))
      else {
        log(`attack ${attack.id} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`)
        resolve({ failed: 1 })
      }
    })
  })
  const stop = async () => {
    child.kill('SIGTERM')
    const r = await Promise.race([ended, sleep(ATTACK_STOP_MS).then(() => null)])
    if (r !== null) return r
    child.kill('SIGKILL')
    return { stopTimedOut: 1 }
  }
  return { stop, pid: child.pid }
}

/** The network a run needs and what happens to it in the window besides the attack: the bench's settings plus an attack's own, and a restart of the clients. */
function profileOf (attack) {
  return { settings: [...SETTINGS, ...(attack?.network?.settings ?? [])], restartClientsAfterMs: attack?.network?.restartClientsAfterMs ?? null }
}

/** Pids of the run's processes named in `names`, found by run id (clients restart: their pids change). */
async function pidsOf (runId, names) {
  return (await scanRunProcesses()).filter(p => p.runId === runId && p.runDir !== null && names.has(p.peer)).map(p => p.pid)
}

/** What the clients' own logs say about the restart at `from` (ms) until `to`: recovery, attach and login tries, waits, hints. */
function clientFigures (logs, clientNames, from, to) {
  const inRange = (e) => e.time >= from && e.time <= to
  const evs = [...clientNames].flatMap(n => events(join(logs, `${n}.log`)).filter(inRange))
  const of = (ev) => evs.filter(e => e.ev === ev)
  const booted = new Map(of('boot').map(e => [e.peer, e.time]))
  const back = of('online').filter(e => booted.has(e.peer) && e.time >= booted.get(e.peer))
  const firstBack = [...new Map(back.map(e => [e.peer, e])).values()]
  const recovery = firstBack.map(e => e.sinceBootMs).sort((a, b) => a - b)
  const tries = (ok, failed) => {
    const lat = of(ok).map(e => e.latencyMs).sort((a, b) => a - b)
    const n = lat.length + of(failed).length
    return { ok: lat.length, tries: n, success: n === 0 ? null : +(lat.length / n).toFixed(3), p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99), failedBy: Object.fromEntries(Object.entries(Object.groupBy(of(failed), e => e.reason)).map(([k, v]) => [k, v.length])) }
  }
  const waits = of('attach.round-failed').map(e => e.delayMs)
  const clamped = of('hint.clamped')
  return {
    restarted: booted.size,
    backOnline: firstBack.length,
    recoveryP50Ms: quantile(recovery, 0.5),
    recoveryMaxMs: recovery.at(-1) ?? null,
    attach: tries('attach.ok', 'attach.failed'),
    login: tries('login.ok', 'login.failed'),
    roundsFailed: waits.length,
    longestWaitMs: waits.length === 0 ? null : Math.max(...waits),
    hintsClamped: clamped.length + of('log.suppressed').filter(e => e.event === 'hint.clamped').reduce((sum, e) => sum + e.count, 0),
    hugestHintMs: clamped.length === 0 ? null : Math.max(...clamped.map(e => e.hintMs)),
    gaveUp: of('login.gaveup').length
  }
}

/** One network, one window: the attack (or none, for the control) while the probe and the sampler run. */
async function measure (attack, profile, aimedAtNothing = false) {
  const runsDir = mkdtempSync(join(tmpdir(), `patchday-attacks-${attack?.id ?? 'control'}-`))
  current.runsDir = runsDir
  try {
    const upArgs = ['up', '--peers', String(clients), '--seed', 'bench-attacks', '--timeout', '3m', '--json', ...profile.settings.flatMap(s => ['--set', s])]
    const up = JSON.parse(cli(runsDir, upArgs, LIMIT.up).trim().split('\n').at(-1))
    const run = join(runsDir, up.runId)
    const meta = readJson(join(run, 'run.json'))
    const bootstrap = meta.peers.filter(p => p.bootstrap)
    const snName = bootstrap[0].name
    const bootAddr = (name) => events(join(run, 'logs', `${name}.log`)).find(e => e.ev === 'boot').addr
    const snAddr = bootAddr(snName)
    const cred = (name) => readJson(join(run, 'peers', name, 'credentials.json'))
    const clientNames = new Set(meta.peers.filter(p => !p.bootstrap).map(p => p.name))
    // Whom the CPU and memory figures are about: the attack's target; in a control, the supernode, or the clients where they restart.
    const watch = attack?.target ?? (profile.restartClientsAfterMs !== null ? 'clients' : 'sn')
    const targetName = watch === 'clients' ? 'clients' : watch === 'login' ? 'login' : snName
    const fixedPid = watch === 'clients' ? null : readJson(join(run, 'pids', `${targetName}.json`)).pid
    const watched = async () => fixedPid !== null ? [fixedPid] : await pidsOf(up.runId, clientNames)
    await sleep(settleMs)

    // The window opens when the probe's node runs, and closes when the attack is told to stop.
    const probe = startProbe({ loginAddr: meta.login.addr, snAddr, ...cred('mega-01'), listenIp: '127.9.0.1', seconds, intervalMs: probeIntervalMs, timeScale: meta.timeScale })
    await probe.ready
    const t0 = Date.now()
    const cpu = cpuMeter()
    const largestRss = (pids) => Math.max(0, ...pids.map(rssKb).filter(r => r !== null))
    const pids0 = await watched()
    cpu.sample(pids0)
    const rss0 = largestRss(pids0)
    let rssPeak = rss0
    let sampling = false
    const sample = async () => {
      if (sampling) return
      sampling = true
      try {
        const pids = await watched()
        cpu.sample(pids)
        if (attacker?.pid !== undefined) attackerCpu.sample([attacker.pid])
        rssPeak = Math.max(rssPeak, largestRss(pids))
      } finally { sampling = false }
    }
    const sampler = setInterval(() => { sample().catch(err => { log(`sampler: ${err.message}`) }) }, RSS_SAMPLE_MS)
    const real = { loginAddr: meta.login.addr, snAddr, snAddrs: bootstrap.map(p => bootAddr(p.name)), timeScale: meta.timeScale, attacker: cred('mega-08'), victims: [...clientNames] }
    const target = aimedAtNothing ? { ...real, loginAddr: decoyAddr(real.loginAddr), snAddr: decoyAddr(real.snAddr), snAddrs: real.snAddrs.map(decoyAddr) } : real
    const attacker = attack === null ? null : startAttacker(attack, target)
    // The attacker's own CPU: on this shared host it is taken from the target and the probe.
    const attackerCpu = cpuMeter()
    if (attacker?.pid !== undefined) attackerCpu.sample([attacker.pid])
    // The clients restart (stopped gracefully, so that they keep their host caches) and attach again.
    let restartAt = null
    let restarting = Promise.resolve(null)
    const restartTimer = profile.restartClientsAfterMs === null
      ? null
      : setTimeout(() => {
        restartAt = Date.now()
        restarting = cliAsync(runsDir, ['storm', '--targets', 'peers', '--window', '1s', '--boot-delay', '1s', '--seed', 'bench-attacks', '--json'], { limitMs: LIMIT.storm })
          .then(out => JSON.parse(out.trim().split('\n').at(-1)), err => ({ error: err.message }))
      }, profile.restartClientsAfterMs)
    let windowS
    let stopping = null
    const stopAttack = () => { stopping ??= attacker === null ? Promise.resolve({}) : attacker.stop(); return stopping }
    const stopAt = setTimeout(() => {
      windowS = (Date.now() - t0) / 1000
      clearInterval(sampler)
      stopAttack()
    }, seconds * 1000)
    let samples
    try {
      samples = await probe.done
    } finally {
      clearTimeout(stopAt)
      clearTimeout(restartTimer)
      clearInterval(sampler)
    }
    windowS ??= (Date.now() - t0) / 1000
    const counts = await stopAttack()
    const storm = await restarting
    // What the target still holds once the attack is over (peaks under load are not leaks).
    await sleep(settleMs)
    const rssAfter = largestRss(await watched())

    const inWindow = (e) => e.time >= t0 && e.time <= t0 + windowS * 1000
    const peerEvents = meta.peers.flatMap(p => events(join(run, 'logs', `${p.name}.log`)).filter(inWindow))
    const targetEvents = watch === 'clients' ? [] : events(join(run, 'logs', `${targetName}.log`)).filter(inWindow)
    const byEv = Object.fromEntries(Object.entries(Object.groupBy(targetEvents, e => e.ev)).map(([k, v]) => [k, v.length]))
    const all = [...samples.login, ...samples.attach]
    return {
      attack: attack === null ? 'control' : attack.id,
      name: attack === null ? 'calm control' : aimedAtNothing ? `${attack.name}, aimed at nothing (decoy)` : attack.name,
      decoy: aimedAtNothing,
      target: targetName,
      settings: profile.settings,
      windowS: +windowS.toFixed(1),
      success: all.length === 0 ? null : all.filter(s => s.ok).length / all.length,
      login: latency(samples.login),
      attach: latency(samples.attach),
      targetCpuPct: +(cpu.ticks() / CLOCK_TICKS_PER_S / windowS * 100).toFixed(1),
      attackerCpuPct: attacker === null ? null : +(attackerCpu.ticks() / CLOCK_TICKS_PER_S / windowS * 100).toFixed(1),
      rssStartMb: mb(rss0),
      rssPeakMb: mb(rssPeak),
      rssGrowthMb: mb(rssPeak - rss0),
      rssAfterMb: mb(rssAfter),
      rssRetainedMb: mb(rssAfter - rss0),
      attackerNice,
      clientsOffline: peerEvents.filter(e => e.ev === 'offline' && e.peer !== snName).length,
      heartbeatsLost: peerEvents.filter(e => e.ev === 'heartbeat.lost').length,
      targetLogLines: targetEvents.length,
      targetEvents: byEv,
      restart: restartAt === null ? null : { afterMs: restartAt - t0, storm, clients: clientFigures(join(run, 'logs'), clientNames, restartAt, t0 + windowS * 1000) },
      attacker: counts
    }
  } finally {
    current.attacker?.kill('SIGKILL')
    try {
      cli(runsDir, ['down', '--all', '--grace', '3s'], LIMIT.down)
      rmSync(runsDir, { recursive: true, force: true })
    } catch (err) {
      log(`down failed, runs folder kept for inspection and cleanup: ${runsDir}: ${err.message}`)
    }
    current.runsDir = null
  }
}

/**
 * Rounds of one attack (and of its decoy, apart): each round's ratios to its own control, their
 * medians, and the verdicts on the medians (RSS on the largest growth of any round).
 */
function summarise (rs) {
  const keyOf = (r) => `${r.attack}${r.decoy ? ' decoy' : ''}`
  const rows = new Map()
  for (const r of rs) {
    if (r.attack === 'control') continue
    if (!rows.has(keyOf(r))) rows.set(keyOf(r), [])
    rows.get(keyOf(r)).push(r)
  }
  const median = (xs) => { const v = xs.filter(x => x !== null).sort((a, b) => a - b); return v.length === 0 ? null : +quantile(v, 0.5).toFixed(2) }
  return [...rows.values()].map(list => {
    const each = (f) => list.map(r => r.verdict[f])
    const success = median(each('successVsControl'))
    const login = median(each('loginP99VsControl'))
    const attach = median(each('attachP99VsControl'))
    const rssMax = Math.max(...list.map(r => r.rssGrowthMb))
    const worst = login === null || attach === null ? null : Math.max(login, attach)
    return {
      attack: list[0].attack,
      name: list[0].name,
      rounds: list.length,
      successVsControl: each('successVsControl'),
      loginP99VsControl: each('loginP99VsControl'),
      attachP99VsControl: each('attachP99VsControl'),
      rssGrowthMb: list.map(r => r.rssGrowthMb),
      medians: { successVsControl: success, loginP99VsControl: login, attachP99VsControl: attach },
      verdict: {
        success: success !== null && success >= TARGET.successVsControlMin ? 'PASS' : 'MISS',
        p99: worst !== null && worst <= TARGET.p99VsControlMax ? 'PASS' : 'MISS',
        rss: rssMax < TARGET.rssGrowthMbMax ? 'PASS' : 'MISS'
      }
    }
  })
}

/** `addr` with its IP replaced by DECOY_IP (port and /p2p/ kept). */
function decoyAddr (addr) {
  return addr.replace(/^\/ip4\/[\d.]+\//, `/ip4/${DECOY_IP}/`)
}

/** PASS / MISS against the control, per target; '-' when there is nothing to compare. */
function verdicts (r, control) {
  const ratio = (a, b) => a === null || b === null || b === 0 ? null : a / b
  const success = ratio(r.success, control.success)
  const p99 = [ratio(r.login.p99Ms, control.login.p99Ms), ratio(r.attach.p99Ms, control.attach.p99Ms)]
  const worstP99 = p99.some(x => x === null) ? null : Math.max(...p99)
  const v = {
    successVsControl: success === null ? null : +success.toFixed(3),
    loginP99VsControl: p99[0] === null ? null : +p99[0].toFixed(2),
    attachP99VsControl: p99[1] === null ? null : +p99[1].toFixed(2),
    success: success === null ? 'MISS' : success >= TARGET.successVsControlMin ? 'PASS' : 'MISS',
    p99: worstP99 === null ? 'MISS' : worstP99 <= TARGET.p99VsControlMax ? 'PASS' : 'MISS',
    rss: r.rssGrowthMb < TARGET.rssGrowthMbMax ? 'PASS' : 'MISS'
  }
  const c = r.restart?.clients
  if (r.attack === 'control' || r.target !== 'clients' || c === undefined) return v
  // The attack on the clients: did the hints reach them, did every one come back, did none wait past the cap or spin?
  const cpu = ratio(r.targetCpuPct, control.targetCpuPct)
  return {
    ...v,
    clientCpuVsControl: cpu === null ? null : +cpu.toFixed(2),
    reached: c.hintsClamped > 0 ? 'PASS' : 'MISS',
    recovered: c.restarted > 0 && c.backOnline === c.restarted ? 'PASS' : 'MISS',
    capped: c.longestWaitMs !== null && c.longestWaitMs <= HINT_CAP_MS ? 'PASS' : 'MISS',
    clientCpu: cpu !== null && cpu <= TARGET.clientCpuVsControlMax ? 'PASS' : 'MISS'
  }
}

// One control per network the chosen attacks need, each before its attacks.
const groups = new Map()
for (const attack of chosen) {
  const profile = profileOf(attack)
  const key = JSON.stringify(profile)
  if (!groups.has(key)) groups.set(key, { profile, attacks: [] })
  groups.get(key).attacks.push(attack)
}
if (pinning !== null) {
  // Every thread of this process; what it starts from now on (network, probe) inherits the mask.
  const r = spawnSync('taskset', ['-a', '-p', '-c', pinning.rest, String(process.pid)], { encoding: 'utf8' })
  if (r.status !== 0) usage(`--attacker-cpus: taskset could not pin the bench to cores ${pinning.rest}: ${(r.stderr || '').trim()}`)
  log(`attacker pinned to cores ${pinning.attacker}; the network and the probe to cores ${pinning.rest}`)
}
log(`${seconds} s per run, ${clients} peers, probe every ${probeIntervalMs} ms; runs: ${[...groups.values()].map(g => `control, ${g.attacks.map(a => a.id).join(', ')}`).join('; ')}`)
const results = []
for (const { profile, attacks } of groups.values()) {
  for (let round = 1; round <= repeat; round++) {
    let control = null
    const of = repeat > 1 ? `, round ${round} of ${repeat}` : ''
    for (const attack of [null, ...attacks]) {
      // After an attack on a supernode or the login server, its decoy (--decoy yes).
      const aims = decoy && attack !== null && attack.target !== 'clients' ? [false, true] : [false]
      for (const aimedAtNothing of aims) {
        const what = attack === null
          ? `control (${profile.settings.join(' ')}${profile.restartClientsAfterMs !== null ? ', clients restarted' : ''})`
          : aimedAtNothing ? `attack ${attack.id} aimed at nothing (decoy, ${DECOY_IP})` : `attack ${attack.id} (${attack.name})`
        log(`${what}${of}: up, ${seconds} s window, down`)
        const r = await measure(attack, profile, aimedAtNothing)
        r.round = round
        control ??= r
        r.verdict = verdicts(r, control)
        results.push(r)
        log(JSON.stringify(r))
      }
    }
  }
}
const summary = repeat > 1 ? summarise(results) : null

const pct = (x) => x === null ? '-' : `${(x * 100).toFixed(1)} %`
const ms = (x) => x === null ? '-' : `${Math.round(x)}`
const times = (x) => x === null ? '-' : `${x}x`
console.log(`Attacks, ${seconds} s each, ${clients} peers, one attacker at niceness ${attackerNice}${pinning === null ? '' : ` on cores ${pinning.attacker} (network and probe on ${pinning.rest})`}; probe login + attach every ${probeIntervalMs} ms (${cpus().length} cores, node ${process.version}). RSS after: ${settleMs} ms after the attacker ended.`)
console.log('')
console.log('| attack | target | probe success (vs control) | login p50 / p99 ms (p99 vs control) | attach p50 / p99 ms (p99 vs control) | target CPU | attacker CPU | peak RSS (growth) | RSS after (retained) | clients offline | target log lines | success / p99 / RSS |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
const label = (r) => `${repeat > 1 ? `#${r.round} ` : ''}${r.attack === 'control' ? `control${r.settings.length > SETTINGS.length ? ` (${r.settings.slice(SETTINGS.length).join(', ')})` : ''}` : `${r.attack}: ${r.name}`}`
for (const r of results) {
  const v = r.verdict
  console.log(`| ${label(r)} | ${r.target} | ${pct(r.success)} (${times(v.successVsControl)}) | ${ms(r.login.p50Ms)} / ${ms(r.login.p99Ms)} (${times(v.loginP99VsControl)}) | ${ms(r.attach.p50Ms)} / ${ms(r.attach.p99Ms)} (${times(v.attachP99VsControl)}) | ${r.targetCpuPct} % | ${r.attackerCpuPct === null ? '-' : `${r.attackerCpuPct} %`} | ${r.rssPeakMb} MB (+${r.rssGrowthMb}) | ${r.rssAfterMb} MB (${r.rssRetainedMb >= 0 ? '+' : ''}${r.rssRetainedMb}) | ${r.clientsOffline} | ${r.targetLogLines} | ${r.attack === 'control' ? '-' : `${v.success} / ${v.p99} / ${v.rss}`} |`)
}
const restarted = results.filter(r => r.restart !== null)
if (restarted.length > 0) {
  const s = (x) => x === null ? '-' : `${(x / 1000).toFixed(1)}`
  const tries = (t) => `${t.ok} / ${t.tries}, ${ms(t.p50Ms)} / ${ms(t.p99Ms)}`
  console.log('')
  console.log(`Clients restarted in the window (storm --targets peers): what their own logs say until the window closes. Waits are emulated ms (cap ${HINT_CAP_MS}); CPU is the clients' together.`)
  console.log('')
  console.log('| run | restarted | back online | back after boot p50 / max s | attach ok / tries, p50 / p99 ms | login ok / tries, p50 / p99 ms | rounds failed (longest wait ms) | hints clamped (largest) | clients CPU (vs control) | reached / recovered / capped / CPU |')
  console.log('|---|---|---|---|---|---|---|---|---|---|')
  for (const r of restarted) {
    const c = r.restart.clients
    const v = r.verdict
    const verdict = v.reached === undefined ? '-' : `${v.reached} / ${v.recovered} / ${v.capped} / ${v.clientCpu}`
    console.log(`| ${label(r)} | ${c.restarted} | ${c.backOnline} | ${s(c.recoveryP50Ms)} / ${s(c.recoveryMaxMs)} | ${tries(c.attach)} | ${tries(c.login)} | ${c.roundsFailed} (${c.longestWaitMs ?? '-'}) | ${c.hintsClamped} (${c.hugestHintMs ?? '-'}) | ${r.targetCpuPct} % (${times(v.clientCpuVsControl ?? null)}) | ${verdict} |`)
  }
}
if (summary !== null) {
  const list = (xs) => xs.map(x => x === null ? '-' : x).join(' / ')
  console.log('')
  console.log(`${repeat} rounds, each attack against the control of its round; verdicts on the medians (RSS on the largest growth).`)
  console.log('')
  console.log('| attack | rounds | success vs control: each (median) | login p99 vs control: each (median) | attach p99 vs control: each (median) | peak RSS growth MB: each | success / p99 / RSS |')
  console.log('|---|---|---|---|---|---|---|')
  for (const s of summary) {
    console.log(`| ${s.attack}: ${s.name} | ${s.rounds} | ${list(s.successVsControl)} (${times(s.medians.successVsControl)}) | ${list(s.loginP99VsControl)} (${times(s.medians.loginP99VsControl)}) | ${list(s.attachP99VsControl)} (${times(s.medians.attachP99VsControl)}) | ${list(s.rssGrowthMb)} | ${s.verdict.success} / ${s.verdict.p99} / ${s.verdict.rss} |`)
  }
}
mkdirSync(join(root, 'bench', 'results'), { recursive: true })
const out = join(root, 'bench', 'results', `attacks-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, node: process.version, seconds, clients, probeIntervalMs, attackerNice, attackerCpus: pinning?.attacker ?? 'all', otherCpus: pinning?.rest ?? 'all', settleMs, repeat, decoy, settings: SETTINGS, targets: TARGET, hintCapMs: HINT_CAP_MS, results, summary }, null, 2))
console.error(`written ${out}`)
