/**
 * System test: the real CLI brings up 30 peer processes on this machine, all log
 * in, a supernode is killed (SIGKILL: a power cut) and its clients re-attach
 * elsewhere, and `down` leaves no process behind.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, existsSync, readdirSync } from 'node:fs'
import { cli, tempRunsDir, eventually } from '../helpers/cli.ts'
import { resolveRun } from '../../orchestrator/run/dir.ts'
import { LocalRuntime, findRunProcesses, compileCacheDir } from '../../orchestrator/runtime/local.ts'
import { readTimeline } from '../../orchestrator/logs/tail.ts'
import type { PeerEvent } from '../../node/contract/events.ts'

const runsDir = tempRunsDir('system')
let runId = ''

after(async () => {
  // Whatever happened, nothing of the lab outlives the test.
  if (runId !== '') await cli(runsDir, ['down', '--run', runId, '--grace', '2s'])
  rmSync(runsDir, { recursive: true, force: true })
})

interface Status { peers: number, online: number, supernodes: number, running: number, supernodeList: Array<{ peer: string, clients: number }> }

async function status (): Promise<Status> {
  const r = await cli(runsDir, ['status', '--json'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as Status
}

test('30 peers come up, all log in, survive a supernode power cut, and go down without leftovers', async () => {
  const upResult = await cli(runsDir, ['up', '--peers', '30', '--seed', 'system-1', '--timeout', '3m', '--json'])
  assert.equal(upResult.code, 0, upResult.stderr)
  const upJson = JSON.parse(upResult.stdout) as { runId: string, seed: string, online: number }
  runId = upJson.runId
  assert.equal(upJson.seed, 'system-1')
  assert.ok(upJson.online >= 29, `up returned with ${upJson.online} online`)

  // All 30 log in.
  await eventually('all 30 peers online', 120_000, async () => { const s = await status(); return s.online === 30 ? s : undefined })
  const run = await resolveRun(runsDir, runId)
  const events = await readTimeline(run.logsDir)
  const loggedIn = new Set(events.filter(e => e.ev === 'login.ok').map(e => e.peer))
  const supernodes = new Set((await status()).supernodeList.map(s => s.peer))
  for (let i = 1; i <= 30; i++) {
    const name = `p-${String(i).padStart(3, '0')}`
    assert.ok(loggedIn.has(name), `${name} never logged in`)
  }
  assert.ok(supernodes.size >= 1)

  // The peers wrote Node's compile cache while running (Node alone writes it only at exit):
  // later peers of the run load the bundle from it.
  const cacheDir = compileCacheDir(run)
  const cached = existsSync(cacheDir) ? readdirSync(cacheDir, { recursive: true, withFileTypes: true }).filter(d => d.isFile()) : []
  assert.ok(cached.length > 0, `no compile cache under ${cacheDir} while the network runs`)
  // Every boot reports the CPU it took.
  for (const e of events) if (e.ev === 'boot') assert.ok(e.cpuUs > 0, `${e.peer} boot without cpuUs`)

  // Power-cut the busiest supernode.
  const before = await status()
  const victim = [...before.supernodeList].sort((a, b) => b.clients - a.clients)[0]
  assert.ok(victim !== undefined && victim.clients > 0, 'a supernode with clients')
  const onVictim = new Set<string>()
  const latestOnline = new Map<string, PeerEvent>()
  for (const e of events) if (e.ev === 'online') latestOnline.set(e.peer, e)
  for (const [peer, e] of latestOnline) if (e.ev === 'online' && e.sn === victim.peer) onVictim.add(peer)
  assert.ok(onVictim.size > 0, `clients of ${victim.peer} found in the log`)
  const runtime = new LocalRuntime(run)
  const killedAt = Date.now()
  assert.equal(await runtime.kill(victim.peer), 'killed')

  // Every client it had comes online again at another supernode.
  await eventually(`the ${onVictim.size} clients of ${victim.peer} online elsewhere`, 120_000, async () => {
    const now = await readTimeline(run.logsDir)
    const back = new Set(now.filter(e => e.ev === 'online' && e.time >= killedAt && e.sn !== victim.peer).map(e => e.peer))
    return [...onVictim].every(p => back.has(p)) ? true : undefined
  })
  const after = await status()
  assert.equal(after.online, 29, 'all but the killed supernode are online')

  // down stops everything.
  const down = await cli(runsDir, ['down', '--grace', '3s'])
  assert.equal(down.code, 0, down.stderr)
  assert.deepEqual(await findRunProcesses(runId), [])
  const final = await status()
  assert.equal(final.running, 0)
  assert.equal(final.online, 0)
})
