#!/usr/bin/env node
// npm run bench:engine [-- --starts 20 --parallel 8]
//
// What one container start costs the Docker engine on this host, apart from the peer it runs:
// `--starts` containers of the app image that only sleep, created first, then started
// `--parallel` at a time, on a user-defined bridge network (what compose runs use: Docker sets up
// its embedded DNS and IPv6 in every container's namespace) and on the host's network. It reports
// host CPU (all processes: dockerd, containerd, shims, runc, hooks) per start from /proc/stat,
// and the wall time. This is the floor under `up --runtime compose`: a network of N peers costs at
// least N x (this + a peer's boot CPU) of the host's cores before it is steady.
// Needs a running engine and the image (npm run docker:build). Not a test.
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync } from 'node:fs'
import { benchArgs } from './lib.mjs'

const usage = (why) => {
  console.error(`bench/engine.mjs: ${why}`)
  console.error('usage: node bench/engine.mjs [--starts 1..200] [--parallel 1..64] (--help for more)')
  process.exit(2)
}
const arg = benchArgs(['--starts', '--parallel'], usage)
const STARTS = Number(arg('--starts', '20'))
const PARALLEL = Number(arg('--parallel', '8'))
const IMAGE = process.env.PATCHDAY_IMAGE ?? 'patchday:0.1.0'
// A /24 of our own, labelled like every patchday network (down --all sweeps it if this dies).
const SUBNET = '10.219.250.0/24'
const LABEL = 'patchday.run=bench-engine'
const NET = 'patchday-bench-engine'
if (!Number.isInteger(STARTS) || STARTS < 1 || STARTS > 200) usage('--starts: an integer 1..200')
if (!Number.isInteger(PARALLEL) || PARALLEL < 1 || PARALLEL > 64) usage('--parallel: an integer 1..64')
const execFileP = promisify(execFile)
const log = (line) => { process.stderr.write(`[bench:engine] ${line}\n`) }
const docker = (args) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
const ticks = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  return { busy: f[0] + f[1] + f[2] + f[5] + f[6] + f[7], all: f.slice(0, 8).reduce((a, b) => a + b, 0) }
}
const hz = 100
const cores = readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter(l => l.startsWith('processor')).length

function cleanup () {
  const ids = docker(['ps', '-aq', '--filter', `label=${LABEL}`]).split('\n').filter(s => s !== '')
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' })
  spawnSync('docker', ['network', 'rm', NET], { stdio: 'ignore' })
}

async function measure (network) {
  const names = Array.from({ length: STARTS }, (_, i) => `patchday-bench-engine-${network === 'host' ? 'h' : 'b'}${i}`)
  for (const n of names) docker(['create', '--name', n, '--label', LABEL, '--network', network === 'host' ? 'host' : NET, '--init', '--entrypoint', '/bin/sleep', IMAGE, '600'])
  const t0 = ticks()
  const w0 = Date.now()
  for (let i = 0; i < names.length; i += PARALLEL) {
    await Promise.all(names.slice(i, i + PARALLEL).map(async n => { await execFileP('docker', ['start', n]) }))
  }
  const wall = Date.now() - w0
  const t1 = ticks()
  spawnSync('docker', ['rm', '-f', ...names], { stdio: 'ignore' })
  return { network, starts: STARTS, parallel: PARALLEL, cpuPerStartS: +((t1.busy - t0.busy) / hz / STARTS).toFixed(2), hostBusy: +((t1.busy - t0.busy) / (t1.all - t0.all)).toFixed(2), wallS: +(wall / 1000).toFixed(1), startsPerS: +(STARTS / (wall / 1000)).toFixed(1) }
}

cleanup()
try {
  docker(['network', 'create', '--subnet', SUBNET, '--label', LABEL, NET])
} catch (err) {
  console.error(`bench/engine.mjs: cannot create its network on ${SUBNET}: ${String(err.stderr ?? err.message).trim()}`)
  console.error("start Docker and build the image (npm run docker:build); if the subnet is in use, remove what holds it")
  process.exit(1)
}
const rows = []
try {
  for (const network of ['bridge', 'host']) {
    log(`${STARTS} starts, ${PARALLEL} at a time, ${network} network`)
    rows.push(await measure(network))
  }
} finally {
  cleanup()
}
for (const r of rows) log(`${r.network}: ${r.cpuPerStartS} s of host CPU per container start (${cores} cores ${Math.round(r.hostBusy * 100)}% busy), ${r.startsPerS} starts/s`)
process.stdout.write(JSON.stringify({ date: new Date().toISOString(), cores, image: IMAGE, rows }, null, 2) + '\n')
