/**
 * The compose runtime on the host network (`--network host`), end to end through
 * the real CLI: 10 peer containers on the host's network stack, each process on
 * its own 127.x address, come up; half are stormed, by container restarts and by
 * process restarts; all come back; a second host-network run is refused while
 * the first holds the addresses; `down` leaves nothing and frees the addresses.
 * Skipped (with the reason) where no Docker engine runs or the image is not built.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { cli, tempRunsDir, eventually } from '../helpers/cli.ts'
import { readTimeline } from '../../orchestrator/logs/tail.ts'
import { addressInUse } from '../../orchestrator/runtime/local-networks.ts'
import { LOGIN_IP, LOGIN_PORT, peerIp } from '../../orchestrator/runtime/local-addresses.ts'
import type { PeerEvent } from '../../node/contract/events.ts'
import { dockerSkipReason, leftovers } from './docker-helpers.ts'

const skip = await dockerSkipReason()
const runsDir = tempRunsDir('compose-host')
const started: string[] = []

after(async () => {
  for (const id of started) await cli(runsDir, ['down', '--run', id, '--grace', '1s'])
  rmSync(runsDir, { recursive: true, force: true })
})

interface Status { peers: number, online: number, running: number, supernodes: number, loginServer: boolean }

async function status (run: string): Promise<Status> {
  const r = await cli(runsDir, ['status', '--json', '--run', run])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as Status
}

const containerIds = (runId: string): string[] => execFileSync('docker', ['ps', '-q', '--no-trunc', '--filter', `label=patchday.run=${runId}`], { encoding: 'utf8' }).trim().split('\n').filter(l => l !== '').sort()

/** Up with the host network, all online, half stormed, all online again (each target in its second incarnation), down leaves nothing. */
async function stormed (runId: string, restartMode: 'container' | 'process', during?: () => Promise<void>): Promise<void> {
  started.push(runId)
  const up = await cli(runsDir, ['up', '--runtime', 'compose', '--network', 'host', '--restart-mode', restartMode, '--peers', '10', '--seed', runId, '--run-id', runId, '--timeout', '3m', '--json'], 240_000)
  assert.equal(up.code, 0, up.stderr)
  const meta = JSON.parse(readFileSync(join(runsDir, runId, 'run.json'), 'utf8')) as { runtime: string, restartMode?: string, network?: string }
  assert.deepEqual([meta.runtime, meta.restartMode, meta.network], ['compose', restartMode, 'host'])
  const record = JSON.parse(readFileSync(join(runsDir, runId, 'docker.json'), 'utf8')) as { network?: string, subnet: string, containers: Record<string, string> }
  assert.deepEqual([record.network, record.subnet], ['host', ''])
  // Keyed by short container id (every container's hostname is the host's).
  const env = JSON.parse(readFileSync(join(runsDir, runId, 'config', 'env.json'), 'utf8')) as Record<string, Record<string, string>>
  assert.deepEqual(Object.keys(env).sort(), Object.values(record.containers).map(id => id.slice(0, 12)).sort())
  assert.equal(env[(record.containers['p-001'] as string).slice(0, 12)]?.PATCHDAY_LISTEN_IP, peerIp(1))
  assert.deepEqual(await leftovers(`patchday.run=${runId}`).then(l => l.networks), 0, 'no network of the run')
  await eventually('all 10 online', 120_000, async () => { const s = await status(runId); return s.online === 10 ? s : undefined })
  assert.equal(await addressInUse(LOGIN_IP, LOGIN_PORT), true, 'the login server listens on the host\'s loopback')
  await during?.()
  const before = containerIds(runId)

  const storm = await cli(runsDir, ['storm', '--run', runId, '--share', '0.5', '--window', '4s', '--boot-delay', '1s', '--seed', 'half', '--json'], 240_000)
  assert.equal(storm.code, 0, storm.stderr)
  const r = JSON.parse(storm.stdout) as { ok: number, failed: number }
  assert.deepEqual([r.ok, r.failed], [10, 0], 'five stops and five starts')
  await eventually('every peer online again after the storm', 120_000, async () => { const s = await status(runId); return s.online === 10 ? s : undefined })
  const events = await readTimeline(join(runsDir, runId, 'logs'))
  assert.equal(events.find((e): e is PeerEvent<'storm.plan'> => e.ev === 'storm.plan')?.restartMode, restartMode)
  const targets = new Set(events.filter((e): e is PeerEvent<'storm.op'> => e.ev === 'storm.op' && e.op === 'stop' && e.status === 'ok').map(e => e.target))
  assert.equal(targets.size, 5)
  for (const t of targets) {
    assert.ok(events.some(e => e.peer === t && e.ev === 'shutdown' && e.inc === 1), `${t} shut down gracefully`)
    assert.ok(events.some(e => e.peer === t && e.ev === 'online' && e.inc === 2), `${t} online in its second incarnation`)
  }
  if (restartMode === 'process') assert.deepEqual(containerIds(runId), before, 'process restarts: the same containers ran through the storm')
  const rep = await cli(runsDir, ['report', join(runsDir, runId), '--json'])
  assert.equal(rep.code, 0, rep.stderr)
  assert.equal((JSON.parse(rep.stdout) as { network?: string }).network, 'host')

  const down = await cli(runsDir, ['down', '--run', runId, '--grace', '2s'])
  assert.equal(down.code, 0, down.stderr)
  assert.deepEqual(await leftovers(`patchday.run=${runId}`), { containers: 0, networks: 0, volumes: 0 })
  assert.equal(await addressInUse(LOGIN_IP, LOGIN_PORT), false, 'down frees the loopback addresses')
}

test('compose --network host, container restarts: 10 peers on loopback addresses come up, half are restarted, all recover; a second host-network run is refused meanwhile; down leaves nothing', { skip: skip ?? false, timeout: 400_000 }, async () => {
  await stormed('hn-compose-host-c', 'container', async () => {
    const second = await cli(runsDir, ['up', '--runtime', 'compose', '--network', 'host', '--peers', '3', '--run-id', 'hn-compose-host-refused'])
    assert.equal(second.code, 2, second.stderr)
    assert.match(second.stderr, new RegExp(`${LOGIN_IP.replaceAll('.', '\\.')}:${LOGIN_PORT}.* in use`))
    assert.equal(existsSync(join(runsDir, 'hn-compose-host-refused')), false, 'a refused run writes nothing')
  })
})

test('compose --network host, process restarts: the supervisors key their state files by container id and restart the peers inside running containers', { skip: skip ?? false, timeout: 400_000 }, async () => {
  await stormed('hn-compose-host-p', 'process')
})
