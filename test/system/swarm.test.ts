/**
 * Swarm end to end on a one-node swarm (initialised here when the engine is in
 * none, and left again after): the run's services deployed as a stack, peers
 * online, a storm of every peer, bootstrap supernodes included, in the process
 * restart mode (Swarm's default), after which every task still runs, the
 * well-known names still resolve and every peer is online again; then the
 * container restart mode on a storm of clients; down leaves nothing. Skipped
 * where no Docker engine runs or the image is not built.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { cli, tempRunsDir, eventually } from '../helpers/cli.ts'
import { readTimeline } from '../../orchestrator/logs/tail.ts'
import type { PeerEvent } from '../../node/contract/events.ts'
import { dockerSkipReason, leaveSwarm, leftovers, swarmState } from './docker-helpers.ts'

const skip = await dockerSkipReason()
const runsDir = tempRunsDir('swarm')
let initialised = false
const started: string[] = []

after(async () => {
  for (const id of started) await cli(runsDir, ['down', '--run', id, '--grace', '1s'])
  // Leave only a swarm this test created (the pool is ours, apart from the host's routes).
  if (initialised) {
    const left = await leaveSwarm()
    if (left !== null) process.stderr.write(`swarm.test: ${left}\n`)
  }
  rmSync(runsDir, { recursive: true, force: true })
})

async function ensureSwarm (): Promise<void> {
  if (await swarmState() === 'active') return
  execFileSync('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1', '--default-addr-pool', '10.214.0.0/16'], { stdio: 'pipe' })
  initialised = true
}

async function status (runId: string): Promise<{ online: number, running: number }> {
  const r = await cli(runsDir, ['status', '--run', runId, '--json'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as { online: number, running: number }
}

function containerIds (runId: string): string[] {
  return execFileSync('docker', ['ps', '-q', '--no-trunc', '--filter', `label=patchday.run=${runId}`], { encoding: 'utf8' }).trim().split('\n').filter(l => l !== '').sort()
}

/** What each name resolves to inside the overlay, asked from a running task's container ('ENOTFOUND' and the like when it does not). */
function resolveInside (container: string, names: string[]): Record<string, string> {
  const script = `const dns = require('node:dns').promises; Promise.all(${JSON.stringify(names)}.map(n => dns.lookup(n).then(a => [n, a.address], e => [n, e.code]))).then(r => console.log(JSON.stringify(Object.fromEntries(r))))`
  return JSON.parse(execFileSync('docker', ['exec', container, 'node', '-e', script], { encoding: 'utf8' })) as Record<string, string>
}

test('swarm: 12 peers as a stack; a storm of every peer, bootstrap supernodes included, restarts processes in running tasks, which keep their DNS names, and the network recovers; down removes everything', { skip: skip ?? false, timeout: 600_000 }, async (t) => {
  await ensureSwarm()
  const runId = `swarm-p-${process.pid.toString(36)}`
  started.push(runId)
  const t0 = Date.now()
  const up = await cli(runsDir, ['up', '--runtime', 'swarm', '--peers', '12', '--seed', 'swarm-1', '--run-id', runId, '--timeout', '3m', '--json'], 300_000)
  assert.equal(up.code, 0, up.stderr)
  const meta = JSON.parse(readFileSync(join(runsDir, runId, 'run.json'), 'utf8')) as { runtime: string, restartMode?: string, peers: Array<{ name: string, bootstrap: boolean }> }
  assert.deepEqual([meta.runtime, meta.restartMode], ['swarm', 'process'], 'process restarts are Swarm\'s default')
  const services = execFileSync('docker', ['service', 'ls', '--filter', `label=com.docker.stack.namespace=patchday-${runId}`, '--format', '{{.Name}}'], { encoding: 'utf8' }).trim().split('\n')
  assert.ok(services.includes(`patchday-${runId}_peer`), `services: ${services.join(', ')}`)
  await eventually('12 online', 120_000, async () => { const s = await status(runId); return s.online === 12 ? s : undefined })
  t.diagnostic(`up and 12 online after ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  const wellKnown = ['login', ...meta.peers.filter(p => p.bootstrap).map(p => p.name)]
  assert.ok(wellKnown.length >= 3, `the login server and at least two bootstrap supernodes: ${wellKnown.join(', ')}`)
  const before = containerIds(runId)
  assert.equal(before.length, 13, 'a task each: the login server and 12 peers')

  const t1 = Date.now()
  const storm = await cli(runsDir, ['storm', '--run', runId, '--targets', 'all', '--window', '5s', '--boot-delay', '2s', '--seed', 'everyone', '--json'], 300_000)
  assert.equal(storm.code, 0, storm.stderr)
  const r = JSON.parse(storm.stdout) as { ok: number, failed: number }
  assert.deepEqual([r.ok, r.failed], [24, 0], 'a stop and a start for each of the 12 peers')
  const recovered = await eventually('12 online after the storm', 180_000, async () => { const s = await status(runId); return s.online === 12 ? s : undefined })
  t.diagnostic(`storm of all 12 peers (5 s window, 2 s boot delay): ${recovered.online}/12 online ${((Date.now() - t1) / 1000).toFixed(1)} s after the storm began`)
  // The same containers ran through the storm, so Swarm's tasks never ended and their names stay.
  assert.deepEqual(containerIds(runId), before, 'no task container was stopped or replaced')
  const resolved = resolveInside(before[0] as string, wellKnown)
  for (const name of wellKnown) assert.match(resolved[name] ?? '', /^\d+\.\d+\.\d+\.\d+$/, `${name} resolves inside the overlay after the storm: ${JSON.stringify(resolved)}`)

  const events = await readTimeline(join(runsDir, runId, 'logs'))
  assert.equal(events.find((e): e is PeerEvent<'storm.plan'> => e.ev === 'storm.plan')?.restartMode, 'process')
  const stopped = new Set(events.filter((e): e is PeerEvent<'storm.op'> => e.ev === 'storm.op' && e.op === 'stop' && e.status === 'ok').map(e => e.target))
  assert.equal(stopped.size, 12)
  for (const p of meta.peers) {
    // A second incarnation of every peer, bootstrap supernodes too: shut down, booted again, online.
    assert.ok(events.some(e => e.peer === p.name && e.ev === 'shutdown' && e.inc === 1), `${p.name} shut down gracefully`)
    assert.ok(events.some(e => e.peer === p.name && e.ev === 'online' && e.inc === 2), `${p.name} online in its second incarnation`)
    // Each supervisor's own record, journalled beside the ops.
    assert.ok(events.some(e => e.ev === 'runtime.event' && e.target === p.name && e.action === 'die' && e.scope === 'process' && e.exitCode === 0), `${p.name}: its supervisor reported a clean exit`)
  }

  const down = await cli(runsDir, ['down', '--run', runId])
  assert.equal(down.code, 0, down.stderr)
  assert.deepEqual(await leftovers(`patchday.run=${runId}`), { containers: 0, networks: 0, volumes: 0 })
})

test('swarm --restart-mode container: a storm of clients restarts their task containers, and the network recovers', { skip: skip ?? false, timeout: 600_000 }, async () => {
  await ensureSwarm()
  const runId = `swarm-c-${process.pid.toString(36)}`
  started.push(runId)
  const up = await cli(runsDir, ['up', '--runtime', 'swarm', '--restart-mode', 'container', '--peers', '6', '--seed', 'swarm-c', '--run-id', runId, '--timeout', '3m', '--json'], 300_000)
  assert.equal(up.code, 0, up.stderr)
  const meta = JSON.parse(readFileSync(join(runsDir, runId, 'run.json'), 'utf8')) as { restartMode?: string }
  assert.equal(meta.restartMode, 'container')
  await eventually('6 online', 120_000, async () => { const s = await status(runId); return s.online === 6 ? s : undefined })
  // Clients only: a well-known task whose container is restarted through the engine loses its
  // name in Swarm's DNS (README, Docker Swarm), which is why process restarts are the default.
  const storm = await cli(runsDir, ['storm', '--run', runId, '--targets', 'peers', '--window', '3s', '--boot-delay', '1s', '--seed', 'clients', '--json'], 300_000)
  assert.equal(storm.code, 0, storm.stderr)
  const r = JSON.parse(storm.stdout) as { ok: number, failed: number }
  assert.equal(r.failed, 0)
  assert.ok(r.ok >= 4 && r.ok % 2 === 0, `a stop and a start for each of at least 2 clients: ${r.ok} ops`)
  await eventually('6 online after the storm', 180_000, async () => { const s = await status(runId); return s.online === 6 ? s : undefined })
  const events = await readTimeline(join(runsDir, runId, 'logs'))
  assert.equal(events.find((e): e is PeerEvent<'storm.plan'> => e.ev === 'storm.plan')?.restartMode, 'container')
  assert.ok(events.some(e => e.ev === 'runtime.event' && e.action === 'die' && e.scope === undefined), 'Docker\'s own die events journalled')
  const down = await cli(runsDir, ['down', '--run', runId])
  assert.equal(down.code, 0, down.stderr)
  assert.deepEqual(await leftovers(`patchday.run=${runId}`), { containers: 0, networks: 0, volumes: 0 })
})
