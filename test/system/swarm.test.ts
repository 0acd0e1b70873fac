/**
 * Swarm smoke test: the run's services deployed as a stack on a one-node swarm
 * (initialised here when the engine is in none, and left again after), peers
 * online, a storm through the engine, down leaves nothing. Skipped where no
 * Docker engine runs or the image is not built.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { cli, tempRunsDir, eventually } from '../helpers/cli.ts'
import { dockerSkipReason, leftovers, swarmState } from './docker-helpers.ts'

const skip = await dockerSkipReason()
const runsDir = tempRunsDir('swarm')
let initialised = false
const runId = 'swarm-smoke'

after(async () => {
  await cli(runsDir, ['down', '--run', runId, '--grace', '1s'])
  // Leave only a swarm this test created (the pool is ours, apart from the host's routes).
  if (initialised) {
    execFileSync('docker', ['swarm', 'leave', '--force'], { stdio: 'ignore' })
    // swarm init made the bridge its tasks reach the host through; it outlives the swarm.
    execFileSync('docker', ['network', 'rm', 'docker_gwbridge'], { stdio: 'ignore' })
  }
  rmSync(runsDir, { recursive: true, force: true })
})

test('swarm: a stack of 12 peers comes up, survives a storm of its clients, and down removes every service, container and network', { skip: skip ?? false, timeout: 600_000 }, async () => {
  if (await swarmState() !== 'active') {
    execFileSync('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1', '--default-addr-pool', '10.214.0.0/16'], { stdio: 'pipe' })
    initialised = true
  }
  const up = await cli(runsDir, ['up', '--runtime', 'swarm', '--peers', '12', '--seed', 'swarm-1', '--run-id', runId, '--timeout', '3m', '--json'], 300_000)
  assert.equal(up.code, 0, up.stderr)
  const services = execFileSync('docker', ['service', 'ls', '--filter', `label=com.docker.stack.namespace=patchday-${runId}`, '--format', '{{.Name}}'], { encoding: 'utf8' }).trim().split('\n')
  assert.ok(services.includes(`patchday-${runId}_peer`), `services: ${services.join(', ')}`)
  const status = async (): Promise<{ online: number, running: number }> => {
    const r = await cli(runsDir, ['status', '--json'])
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as { online: number, running: number }
  }
  await eventually('12 online', 120_000, async () => { const s = await status(); return s.online === 12 ? s : undefined })
  // Clients only: a bootstrap supernode's task restarted with docker stop/start loses its name in
  // Swarm's DNS (found 2026-11-26: `p-001` ENOTFOUND inside the overlay after its restart), and
  // clients whose host caches hold only the bootstrap names then cannot attach. A known bug of
  // the Swarm runtime (README, Docker Swarm), not something this test may hide by luck of targets.
  const storm = await cli(runsDir, ['storm', '--targets', 'peers', '--window', '5s', '--boot-delay', '2s', '--seed', 'clients', '--json'], 300_000)
  assert.equal(storm.code, 0, storm.stderr)
  const r = JSON.parse(storm.stdout) as { ok: number, failed: number }
  assert.equal(r.failed, 0)
  assert.ok(r.ok >= 8 && r.ok % 2 === 0, `a stop and a start for each of at least 4 clients: ${r.ok} ops`)
  await eventually('12 online after the storm', 180_000, async () => { const s = await status(); return s.online === 12 ? s : undefined })
  const down = await cli(runsDir, ['down'])
  assert.equal(down.code, 0, down.stderr)
  assert.deepEqual(await leftovers(`patchday.run=${runId}`), { containers: 0, networks: 0, volumes: 0 })
})
