#!/usr/bin/env node
// Login-server CPU per login, isolated: `patchday up --peers 1` for a login server, then
// one client process logs in M times, each over a new connection (TCP + Noise + yamux),
// one at a time; the login server's CPU (from /proc) divided by M.
// Usage: node bench/login-cpu.mjs [--logins 200]
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { CLOCK_TICKS_PER_S, benchArgs, procStat, root } from './lib.mjs'

function usage (why) {
  console.error(`bench/login-cpu.mjs: ${why}`)
  console.error('options: --logins 200 (--help for more)')
  process.exit(2)
}
const arg = benchArgs(['--logins'], usage)
const logins = Number(arg('--logins', '200'))
if (!Number.isInteger(logins) || logins < 1) usage('--logins: a positive integer')
const runsDir = mkdtempSync(join(tmpdir(), 'patchday-login-cpu-'))
const cli = (args) => spawnSync(process.execPath, [join(root, 'bin', 'patchday.mjs'), ...args], { env: { ...process.env, PATCHDAY_RUNS_DIR: runsDir }, encoding: 'utf8' })
const times = (pid) => procStat(`/proc/${pid}/stat`)
// CPU ticks per thread name (main thread, V8's platform workers, libuv's pool).
const threads = (pid) => {
  const out = {}
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const t = procStat(`/proc/${pid}/task/${tid}/stat`)
    if (t === null) continue // a thread that ended meanwhile
    const name = tid === String(pid) ? 'main' : t.name
    out[name] = (out[name] ?? 0) + t.user + t.system
  }
  return out
}
try {
  const up = cli(['up', '--peers', '1', '--bootstrap', '1', '--json', '--set', 'loginRatePerS=100000', '--set', 'loginServiceMs=0', '--set', 'loginConcurrencyMax=64'])
  if (up.status !== 0) throw new Error(up.stderr)
  const { runId } = JSON.parse(up.stdout)
  const run = join(runsDir, runId)
  const meta = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'))
  const cred = JSON.parse(readFileSync(join(run, 'peers', 'p-001', 'credentials.json'), 'utf8'))
  const loginPid = JSON.parse(readFileSync(join(run, 'pids', 'login.json'), 'utf8')).pid
  const node = await createLibp2p({ addresses: { listen: [] }, transports: [tcp({ dialOpts: { localAddress: '127.9.0.1' } })], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionMonitor: { enabled: false } })
  const body = new TextEncoder().encode(JSON.stringify({ t: 'login', ...cred }))
  const before = times(loginPid)
  const threadsBefore = threads(loginPid)
  const t0 = performance.now()
  let ok = 0
  for (let i = 0; i < logins; i++) {
    const conn = await node.dial(multiaddr(meta.login.addr))
    const s = await conn.newStream('/patchday/login/1.0.0')
    const lp = lpStream(s)
    await lp.write(body)
    const res = JSON.parse(new TextDecoder().decode((await lp.read()).subarray()))
    if (res.t === 'ok') ok++
    await s.close()
    await conn.close()
  }
  const wall = performance.now() - t0
  const after = times(loginPid)
  const threadsAfter = threads(loginPid)
  const perLogin = (ticks) => +(ticks * 1000 / CLOCK_TICKS_PER_S / logins).toFixed(2)
  console.log(JSON.stringify({
    logins,
    ok,
    loginServerCpuMsPerLogin: perLogin(after.user + after.system - before.user - before.system),
    userMsPerLogin: perLogin(after.user - before.user),
    systemMsPerLogin: perLogin(after.system - before.system),
    wallMsPerLogin: +(wall / logins).toFixed(2),
    msPerLoginByThread: Object.fromEntries(Object.entries(threadsAfter).map(([k, v]) => [k, perLogin(v - (threadsBefore[k] ?? 0))]))
  }))
  await node.stop()
} finally {
  cli(['down', '--grace', '2s'])
  rmSync(runsDir, { recursive: true, force: true })
}
