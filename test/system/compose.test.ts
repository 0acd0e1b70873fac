/**
 * Containers end to end through the real CLI: a compose network of 20 peers
 * comes up, all log in, half of it is stormed through the Docker engine and
 * recovers, and `down` leaves no container, network or volume; then the
 * top-level compose.yaml started by `docker compose up --scale` with no
 * orchestrator is adopted with `attach` and works with status, logs and down.
 * Skipped (with the reason) where no Docker engine runs or the image is not built.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { rmSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, tempRunsDir, eventually, ROOT, BIN } from '../helpers/cli.ts'
import { readTimeline } from '../../orchestrator/logs/tail.ts'
import { detectCompose } from '../../orchestrator/runtime/docker/preflight.ts'
import { ComposeRuntime } from '../../orchestrator/runtime/compose.ts'
import { RunDir } from '../../orchestrator/run/dir.ts'
import type { PeerEvent } from '../../node/contract/events.ts'
import { dockerSkipReason, leftovers } from './docker-helpers.ts'

const skip = await dockerSkipReason()
const runsDir = tempRunsDir('compose')
const started: string[] = []
const STANDALONE_PROJECT = 'patchday-attach-test'
let composeCmd: string[] = []

after(async () => {
  for (const id of started) await cli(runsDir, ['down', '--run', id, '--grace', '1s'])
  if (composeCmd.length > 0) {
    try {
      execFileSync(composeCmd[0] as string, [...composeCmd.slice(1), '-p', STANDALONE_PROJECT, 'down', '-v', '-t', '1'], { cwd: ROOT, stdio: 'ignore' })
    } catch { /* already down: the test's own `patchday down` removed it */ }
  }
  rmSync(runsDir, { recursive: true, force: true })
})

interface Status { peers: number, online: number, running: number, supernodes: number, loginServer: boolean }

async function status (run?: string): Promise<Status> {
  const r = await cli(runsDir, ['status', '--json', ...(run !== undefined ? ['--run', run] : [])])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as Status
}

test('compose: 20 peer containers come up, half are stormed through the engine, the network recovers, down leaves nothing', { skip: skip ?? false, timeout: 600_000 }, async () => {
  const runId = 'compose-20'
  started.push(runId)
  const up = await cli(runsDir, ['up', '--runtime', 'compose', '--peers', '20', '--seed', 'compose-1', '--run-id', runId, '--timeout', '4m', '--json'], 300_000)
  assert.equal(up.code, 0, up.stderr)
  const u = JSON.parse(up.stdout) as { online: number }
  assert.ok(u.online >= 19, `up returned with ${u.online} online`)
  await eventually('all 20 online', 120_000, async () => { const s = await status(); return s.online === 20 ? s : undefined })
  const meta = JSON.parse(readFileSync(join(runsDir, runId, 'run.json'), 'utf8')) as { runtime: string }
  assert.equal(meta.runtime, 'compose')

  const storm = await cli(runsDir, ['storm', '--share', '0.5', '--window', '10s', '--boot-delay', '2s', '--seed', 'half', '--json'], 300_000)
  assert.equal(storm.code, 0, storm.stderr)
  const r = JSON.parse(storm.stdout) as { ok: number, failed: number }
  assert.equal(r.failed, 0)
  assert.equal(r.ok, 20, 'ten stops and ten starts')
  const logs = join(runsDir, runId, 'logs')
  await eventually('every peer online again after the storm', 180_000, async () => { const s = await status(); return s.online === 20 ? s : undefined })
  const events = await readTimeline(logs)
  const targets = new Set(events.filter((e): e is PeerEvent<'storm.op'> => e.ev === 'storm.op' && e.op === 'stop' && e.status === 'ok').map(e => e.target))
  assert.equal(targets.size, 10)
  for (const t of targets) {
    // A second incarnation of the same peer (state kept in its container): shut down, booted, online again.
    assert.ok(events.some(e => e.peer === t && e.ev === 'shutdown' && e.inc === 1), `${t} shut down gracefully`)
    assert.ok(events.some(e => e.peer === t && e.ev === 'online' && e.inc === 2), `${t} online in its second incarnation`)
  }
  // Docker's own record of the restarts is journalled beside the storm ops.
  assert.ok(events.filter(e => e.ev === 'runtime.event' && e.action === 'die').length >= 10, 'Docker die events journalled')

  const rep = await cli(runsDir, ['report', '--json'])
  assert.equal(rep.code, 0, rep.stderr)

  // The orchestrator dies mid-storm (SIGKILL: no cleanup of its own); `down` still removes everything by label.
  const orphan = spawn(process.execPath, [BIN, 'storm', '--share', '0.5', '--window', '30s', '--boot-delay', '20s'], { env: { ...process.env, PATCHDAY_RUNS_DIR: runsDir }, stdio: 'ignore' })
  await eventually('the second storm stopping peers', 60_000, async () => {
    const ev = await readTimeline(logs)
    const second = ev.filter(e => e.ev === 'storm.plan')[1]
    return second !== undefined && ev.some(e => e.ev === 'storm.op' && e.op === 'stop' && e.status === 'ok' && e.time > second.time) ? true : undefined
  })
  orphan.kill('SIGKILL')
  const down = await cli(runsDir, ['down', '--grace', '2s'])
  assert.equal(down.code, 0, down.stderr)
  assert.deepEqual(await leftovers(`patchday.run=${runId}`), { containers: 0, networks: 0, volumes: 0 })
})

test('compose --restart-mode process: a storm restarts the peer processes inside running containers, a killed process is seen and explained, down leaves nothing', { skip: skip ?? false, timeout: 600_000 }, async () => {
  const runId = 'compose-process'
  started.push(runId)
  const up = await cli(runsDir, ['up', '--runtime', 'compose', '--restart-mode', 'process', '--peers', '10', '--seed', 'compose-p', '--run-id', runId, '--timeout', '4m', '--json'], 300_000)
  assert.equal(up.code, 0, up.stderr)
  const meta = JSON.parse(readFileSync(join(runsDir, runId, 'run.json'), 'utf8')) as { runtime: string, restartMode?: string }
  assert.deepEqual([meta.runtime, meta.restartMode], ['compose', 'process'])
  await eventually('all 10 online', 120_000, async () => { const s = await status(runId); return s.online === 10 ? s : undefined })
  const containerIds = async (): Promise<string[]> => execFileSync('docker', ['ps', '-q', '--no-trunc', '--filter', `label=patchday.run=${runId}`], { encoding: 'utf8' }).trim().split('\n').sort()
  const before = await containerIds()

  const storm = await cli(runsDir, ['storm', '--run', runId, '--share', '0.5', '--window', '4s', '--boot-delay', '1s', '--seed', 'half', '--json'], 300_000)
  assert.equal(storm.code, 0, storm.stderr)
  const r = JSON.parse(storm.stdout) as { ok: number, failed: number }
  assert.deepEqual([r.ok, r.failed], [10, 0], 'five stops and five starts')
  await eventually('every peer online again after the storm', 180_000, async () => { const s = await status(runId); return s.online === 10 ? s : undefined })
  // The same containers ran through the storm: only the processes inside them restarted.
  assert.deepEqual(await containerIds(), before, 'no container was stopped or replaced')
  const events = await readTimeline(join(runsDir, runId, 'logs'))
  const plan = events.find((e): e is PeerEvent<'storm.plan'> => e.ev === 'storm.plan')
  assert.equal(plan?.restartMode, 'process')
  const targets = new Set(events.filter((e): e is PeerEvent<'storm.op'> => e.ev === 'storm.op' && e.op === 'stop' && e.status === 'ok').map(e => e.target))
  assert.equal(targets.size, 5)
  for (const t of targets) {
    assert.ok(events.some(e => e.peer === t && e.ev === 'shutdown' && e.inc === 1), `${t} shut down gracefully`)
    assert.ok(events.some(e => e.peer === t && e.ev === 'online' && e.inc === 2), `${t} online in its second incarnation`)
    // The supervisor's record of it, journalled beside the ops.
    assert.ok(events.some(e => e.ev === 'runtime.event' && e.target === t && e.action === 'die' && e.scope === 'process' && e.exitCode === 0), `${t}: the supervisor reported a clean exit`)
  }

  // A power cut of one peer process: its container runs on, status counts the process as down and says why.
  const victim = before[0] as string
  execFileSync('docker', ['kill', '--signal', 'HUP', victim])
  await eventually('the killed process counted as not running', 30_000, async () => { const s = await status(runId); return s.running === 10 ? s : undefined })
  assert.equal((await containerIds()).length, 11, 'its container still runs')
  const record = JSON.parse(readFileSync(join(runsDir, runId, 'docker.json'), 'utf8')) as { containers: Record<string, string> }
  const victimName = Object.entries(record.containers).find(([, id]) => id === victim)?.[0] as string
  const why = await new ComposeRuntime(new RunDir(runsDir, runId), { restartMode: 'process' }).explainExit(victimName)
  assert.match(why, /^peer process exited with code 137 .*still running/)

  const down = await cli(runsDir, ['down', '--run', runId, '--grace', '2s'])
  assert.equal(down.code, 0, down.stderr)
  assert.deepEqual(await leftovers(`patchday.run=${runId}`), { containers: 0, networks: 0, volumes: 0 })
})

test('compose: `docker compose up --scale` with no orchestrator, then attach, status, logs, inject and down', { skip: skip ?? false, timeout: 600_000 }, async () => {
  const c = await detectCompose()
  composeCmd = c.kind === 'v2' ? ['docker', 'compose'] : ['docker-compose']
  execFileSync(composeCmd[0] as string, [...composeCmd.slice(1), '-p', STANDALONE_PROJECT, 'up', '-d', '--scale', 'peer=10'], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, PATCHDAY_RUN_ID: STANDALONE_PROJECT } })
  const at = await cli(runsDir, ['attach', '--project', STANDALONE_PROJECT, '--json'])
  assert.equal(at.code, 0, at.stderr)
  const a = JSON.parse(at.stdout) as { runId: string, peers: number }
  assert.equal(a.peers, 13, '3 bootstrap supernodes and 10 peers')
  started.push(a.runId)
  await eventually('13 online in the attached network', 180_000, async () => { const s = await status(a.runId); return s.online === 13 ? s : undefined })
  const s = await status(a.runId)
  assert.equal(s.running, 14, 'the login server and 13 peers')
  assert.equal(s.loginServer, true)
  // The merged timeline holds every container's lines, named as the peers name themselves.
  const lg = await cli(runsDir, ['logs', '--run', a.runId, '--event', 'login.ok'])
  assert.equal(lg.code, 0, lg.stderr)
  const names = new Set(lg.stdout.trim().split('\n').map(l => (JSON.parse(l) as { peer: string }).peer))
  assert.equal(names.size, 13)
  for (const n of names) assert.match(n, /^(boot-\d|peer-[0-9a-f]{12})$/)
  // An attached network has no reserve: inject copies a running peer into a dedicated supernode,
  // which Compose counts as one more replica of `peer` (so `docker compose down` removes it too).
  const inj = await cli(runsDir, ['inject', 'supernodes', '--run', a.runId, '--count', '1', '--slots', '40'])
  assert.equal(inj.code, 0, inj.stderr)
  assert.equal(inj.stdout.trim(), 'mega-01')
  const megaBoot = await eventually('mega-01 boots as a capable supernode', 120_000, async () => {
    const r = await cli(runsDir, ['logs', '--run', a.runId, '--peer', 'mega-01', '--event', 'boot'])
    const line = r.stdout.trim().split('\n').find(l => l !== '')
    return line === undefined ? undefined : JSON.parse(line) as { bootstrap: boolean, capacityClass: number }
  })
  assert.equal(megaBoot.bootstrap, true)
  assert.equal(megaBoot.capacityClass, 3)
  await eventually('mega-01 online beside the 13', 120_000, async () => { const st = await status(a.runId); return st.online === 14 && st.running === 15 ? st : undefined })
  const replicas = execFileSync(composeCmd[0] as string, [...composeCmd.slice(1), '-p', STANDALONE_PROJECT, 'ps', '-q', 'peer'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATCHDAY_RUN_ID: STANDALONE_PROJECT } })
  assert.equal(replicas.trim().split('\n').length, 11, 'compose sees the copy as the 11th replica of peer')
  const down = await cli(runsDir, ['down', '--run', a.runId, '--grace', '1s'])
  assert.equal(down.code, 0, down.stderr)
  assert.deepEqual(await leftovers(`com.docker.compose.project=${STANDALONE_PROJECT}`), { containers: 0, networks: 0, volumes: 0 })
})

test('compose: clear errors before anything starts (too many peers for one bridge, image not built, leftovers of the same run id, no such project), and nothing left', { skip: skip ?? false, timeout: 120_000 }, async () => {
  const many = await cli(runsDir, ['up', '--runtime', 'compose', '--peers', '1200', '--run-id', 'too-many'])
  assert.equal(many.code, 1)
  assert.match(many.stderr, /DockerPreflightError: .*1000/)
  process.env.PATCHDAY_IMAGE = 'patchday:not-built'
  try {
    const noImage = await cli(runsDir, ['up', '--runtime', 'compose', '--peers', '3', '--run-id', 'no-image'])
    assert.equal(noImage.code, 1)
    assert.match(noImage.stderr, /DockerPreflightError: .*patchday:not-built.*npm run docker:build/)
  } finally {
    delete process.env.PATCHDAY_IMAGE
  }
  // A network of the same run id, left by an earlier run whose teardown failed, is named; it is not reused (its subnet is not this run's) nor removed.
  const stale = `stale-${process.pid}`
  const staleNet = `patchday-${stale}-leftover`
  execFileSync('docker', ['network', 'create', '--label', `patchday.run=${stale}`, staleNet], { stdio: 'ignore' })
  try {
    const again = await cli(runsDir, ['up', '--runtime', 'compose', '--peers', '3', '--run-id', stale])
    assert.equal(again.code, 1)
    assert.match(again.stderr, new RegExp(`DockerPreflightError: .*network ${staleNet} labelled patchday\\.run=${stale}.*patchday down --run ${stale}`))
    assert.deepEqual(await leftovers(`patchday.run=${stale}`), { containers: 0, networks: 1, volumes: 0 }, 'nothing created, the stale network left as it was')
  } finally {
    execFileSync('docker', ['network', 'rm', staleNet], { stdio: 'ignore' })
  }
  for (const id of ['too-many', 'no-image']) assert.deepEqual(await leftovers(`patchday.run=${id}`), { containers: 0, networks: 0, volumes: 0 })
  const noProject = await cli(runsDir, ['attach', '--project', 'no-such-project'])
  assert.equal(noProject.code, 2)
  assert.match(noProject.stderr, /no compose project no-such-project/)
})
