/**
 * Issue 8 hardening with real processes and the real CLI: bad pid records and a
 * corrupt run.json or docker.json do not stop `down` (and `status` and `ps`
 * name them), a second `up` is refused without moving
 * runs/current, `ps` lists running networks from any runs folder, and a corrupt
 * state file ends a peer with exit 2 and one line instead of a source dump.
 */
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, tempRunsDir, eventually } from '../helpers/cli.ts'
import { dockerAnswers } from '../../orchestrator/runtime/census.ts'
import { RunDir } from '../../orchestrator/run/dir.ts'
import { LocalRuntime, findRunProcesses, peerBundle, peerNodeFlags, processStartTicks } from '../../orchestrator/runtime/local.ts'
import { addressInUse, localNetworks } from '../../orchestrator/runtime/local-networks.ts'
import { LOGIN_IP, LOGIN_PORT } from '../../orchestrator/runtime/local-addresses.ts'
import { readNetworkFile, specFor } from '../../orchestrator/network/spec-file.ts'
import { BOOTS_FILE, CREDENTIALS_FILE, IDENTITY_FILE } from '../../node/contract/state-files.ts'

const runsDir = tempRunsDir('hardening')
const otherRunsDir = tempRunsDir('hardening-other')
const started: Array<[string, string]> = []

before(async () => {
  // Local runs share the loopback addresses: on a shared machine, wait for another test's network to end.
  // (An older build's network is not in `localNetworks`, but holds the login address.)
  await eventually('no other local patchday network on this machine', 300_000,
    async () => (await localNetworks()).length === 0 && !await addressInUse(LOGIN_IP, LOGIN_PORT) ? true : undefined, 1000)
})

after(async () => {
  for (const [dir, id] of started) await cli(dir, ['down', '--run', id, '--grace', '1s'])
  rmSync(runsDir, { recursive: true, force: true })
  rmSync(otherRunsDir, { recursive: true, force: true })
})

async function up (dir: string, runId: string, peers = 3): Promise<void> {
  started.push([dir, runId])
  const r = await cli(dir, ['up', '--peers', String(peers), '--run-id', runId, '--seed', runId, '--timeout', '2m'])
  assert.equal(r.code, 0, r.stderr)
}

interface StatusJson { running: number, online: number, problems: Array<{ name: string, problem: string, running: boolean }> }
interface PsRow { runId: string, runtime: string, runDir: string | null, processes: number, peers: number, peersPlanned: number | null, login: boolean, startedAt: string | null }

async function psRows (dir: string): Promise<PsRow[]> {
  const r = await cli(dir, ['ps', '--json'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as PsRow[]
}

test('empty, garbage, unreadable and missing pid records: status names them, down stops every process', async () => {
  const runId = 'bad-records'
  await up(runsDir, runId, 4)
  const pids = join(runsDir, runId, 'pids')
  const all = await Promise.all((await findRunProcesses(runId)).map(async pid => ({ pid, ticks: await processStartTicks(pid) })))
  assert.equal(all.length, 5, 'login server and 4 peers')
  writeFileSync(join(pids, 'p-001.json'), '')
  writeFileSync(join(pids, 'login.json'), 'garbage{')
  rmSync(join(pids, 'p-002.json'))
  mkdirSync(join(pids, 'p-002.json')) // unreadable: a folder where the record was
  rmSync(join(pids, 'p-003.json')) // missing

  const s = await cli(runsDir, ['status', '--json'])
  assert.equal(s.code, 0, s.stderr)
  const status = JSON.parse(s.stdout) as StatusJson
  assert.deepEqual(status.problems.map(p => p.name).sort(), ['login', 'p-001', 'p-002'])
  for (const p of status.problems) assert.equal(p.running, true, `${p.name} is found by its run id: ${p.problem}`)
  assert.equal(status.running, 4, 'every recorded process is found running (p-003 has no record at all)')
  const text = await cli(runsDir, ['status'])
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, /pids\/p-001\.json: empty/)

  const down = await cli(runsDir, ['down', '--grace', '3s'])
  assert.equal(down.code, 0, down.stderr)
  assert.match(down.stdout, /stopped 5, killed 0 \(1 found without a record\)/)
  assert.deepEqual(await findRunProcesses(runId), [])
  // Gone (or a zombie waiting for init): no live process with the same pid and start time.
  for (const p of all) assert.notEqual(await processStartTicks(p.pid), p.ticks, `pid ${p.pid} still runs`)
})

/** Every process of `runId` with its start time, to tell it from a later process that gets the same pid. */
async function runProcesses (runId: string): Promise<Array<{ pid: number, ticks: string | null }>> {
  return await Promise.all((await findRunProcesses(runId)).map(async pid => ({ pid, ticks: await processStartTicks(pid) })))
}

/** `down` left nothing of the run: no process with its run id, and none of those it had with the same pid and start time. */
async function assertAllGone (runId: string, had: Array<{ pid: number, ticks: string | null }>): Promise<void> {
  assert.deepEqual(await findRunProcesses(runId), [])
  for (const p of had) assert.notEqual(await processStartTicks(p.pid), p.ticks, `pid ${p.pid} still runs`)
}

test('garbage run.json and docker.json: status and ps say so and go on, down stops every process of the run', async () => {
  const runId = 'garbage-run-json'
  await up(runsDir, runId, 4)
  const had = await runProcesses(runId)
  assert.equal(had.length, 5, 'login server and 4 peers')
  const run = join(runsDir, runId)
  writeFileSync(join(run, 'run.json'), Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x22, 0x72, 0x75, 0x6e, 0x0a, 0x8f]))
  writeFileSync(join(run, 'docker.json'), 'garbage{')

  const s = await cli(runsDir, ['status', '--json'])
  assert.equal(s.code, 0, s.stderr)
  const status = JSON.parse(s.stdout) as StatusJson & { records: string[], peers: number }
  assert.equal(status.running, 5, 'the processes are listed by their pid records')
  assert.ok(status.records.some(r => r.includes('run.json is not JSON')), JSON.stringify(status.records))
  assert.ok(status.records.some(r => r.includes('docker.json is not JSON')), JSON.stringify(status.records))
  assert.ok(status.peers >= 4, 'the peers come from the logs')

  const ps = await cli(otherRunsDir, ['ps', '--json'])
  assert.equal(ps.code, 0, ps.stderr)
  const row = (JSON.parse(ps.stdout) as PsRow[]).find(r => r.runId === runId)
  assert.deepEqual([row?.processes, row?.peersPlanned, row?.startedAt], [5, null, null])
  assert.match(ps.stderr, new RegExp(`${runId}: .*run\\.json is not JSON .*down --run ${runId}`))

  const down = await cli(runsDir, ['down', '--grace', '3s'])
  assert.equal(down.code, 0, down.stderr)
  assert.match(down.stdout, new RegExp(`^${runId}: stopped 5, killed 0`, 'm'))
  // One line says what is wrong with run.json and what down does instead; Docker is asked only where an engine answers.
  const line = down.stderr.split('\n').find(l => l.includes('run.json')) ?? ''
  assert.match(line, /^patchday: .*run\.json is not JSON .*runtime of run garbage-run-json is unknown: stopping its processes found by run id/)
  assert.match(line, /and .*docker\.json is not JSON/)
  assert.match(line, await dockerAnswers() ? /(nothing labelled|by the label) patchday\.run=garbage-run-json/ : /no Docker engine answers/)
  assert.equal(down.stderr.split('\n').filter(l => l.includes('docker.json')).length, 1, down.stderr)
  await assertAllGone(runId, had)
})

test('an empty run.json: down --run stops every process of the run, found by its pid records and run id', async () => {
  const runId = 'empty-run-json'
  await up(runsDir, runId, 4)
  const had = await runProcesses(runId)
  assert.equal(had.length, 5, 'login server and 4 peers')
  writeFileSync(join(runsDir, runId, 'run.json'), '')
  // A peer without a pid record too: only its run id finds it.
  rmSync(join(runsDir, runId, 'pids', 'p-002.json'))

  const down = await cli(runsDir, ['down', '--run', runId, '--grace', '3s'])
  assert.equal(down.code, 0, down.stderr)
  assert.match(down.stdout, new RegExp(`^${runId}: stopped 5, killed 0 \\(1 found without a record\\)`, 'm'))
  assert.match(down.stderr, /run\.json is empty, so the runtime of run empty-run-json is unknown/)
  await assertAllGone(runId, had)
  // Again: nothing left to stop, and still no failure.
  const again = await cli(runsDir, ['down', '--run', runId, '--grace', '1s'])
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, new RegExp(`^${runId}: stopped 0, killed 0`, 'm'))
})

test('a run folder deleted under a running network: down --run finds its processes by run id and makes no folder again', async () => {
  const runId = 'deleted-folder'
  await up(runsDir, runId, 4)
  const had = await runProcesses(runId)
  assert.equal(had.length, 5, 'login server and 4 peers')
  rmSync(join(runsDir, runId), { recursive: true, force: true })
  const down = await cli(runsDir, ['down', '--run', runId, '--grace', '3s'])
  assert.equal(down.code, 0, down.stderr)
  assert.match(down.stdout, new RegExp(`^${runId}: stopped 5, killed 0 \\(5 found without a record\\)`, 'm'))
  assert.match(down.stderr, /deleted-folder is gone, but processes of run deleted-folder started from it run/)
  await assertAllGone(runId, had)
  assert.equal(existsSync(join(runsDir, runId)), false)
})

test('up over a running network is refused (exit 2) from any runs folder, runs/current stays, and down stops the first; ps lists it until then', async () => {
  const first = 'first-net'
  await up(runsDir, first)
  const current = join(runsDir, 'current')
  assert.equal(readFileSync(current, 'utf8').trim(), first)

  for (const [dir, id] of [[runsDir, 'second-net'], [otherRunsDir, 'elsewhere-net'], [runsDir, first]] as const) {
    const r = await cli(dir, ['up', '--peers', '3', '--run-id', id, '--seed', 'x', '--timeout', '1m'])
    assert.equal(r.code, 2, `up ${id} in ${dir}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(`run ${first} .*down --run ${first}`))
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
    if (id !== first) assert.equal(existsSync(join(dir, id)), false, `a refused run leaves no folder (${id})`)
  }
  assert.equal(readFileSync(current, 'utf8').trim(), first, 'runs/current did not move')
  assert.equal(existsSync(join(otherRunsDir, 'current')), false)
  assert.equal((await findRunProcesses(first)).length, 4)

  // ps sees the network from another runs folder too.
  const rows = (await psRows(otherRunsDir)).filter(r => r.runId === first)
  assert.equal(rows.length, 1, JSON.stringify(rows))
  const row = rows[0] as PsRow
  assert.deepEqual([row.runtime, row.runDir, row.processes, row.peers, row.peersPlanned, row.login], ['local', join(runsDir, first), 4, 3, 3, true])
  assert.ok(row.startedAt !== null && Date.parse(row.startedAt) <= Date.now())
  const table = await cli(runsDir, ['ps'])
  assert.match(table.stdout, new RegExp(`^${first} +local +3/3 +up `, 'm'))

  const down = await cli(runsDir, ['down', '--grace', '3s'])
  assert.equal(down.code, 0, down.stderr)
  assert.match(down.stdout, new RegExp(`^${first}: stopped 4`))
  assert.deepEqual(await findRunProcesses(first), [])
  assert.deepEqual((await psRows(runsDir)).filter(r => r.runId === first), [])
})

test('a corrupt boots, identity.key or credentials.json: exit 2 and one line naming the file in the .err; a real crash: a stack in the sources', async () => {
  const runId = 'corrupt-state'
  await up(runsDir, runId)
  const run = new RunDir(runsDir, runId)
  const runtime = new LocalRuntime(run)
  const network = await readNetworkFile(run)
  const peer = 'p-003' // not a bootstrap supernode: a lost identity would be its own business only
  assert.equal(await runtime.stop(peer, 3000), 'stopped')
  const spec = specFor(run, network, runtime, peer)
  const stateDir = run.stateDir(peer)
  const pristine = new Map([BOOTS_FILE, IDENTITY_FILE, CREDENTIALS_FILE].map(f => [f, readFileSync(join(stateDir, f))]))
  const cases: Array<[string, string]> = [[BOOTS_FILE, 'garbage'], [BOOTS_FILE, ''], [IDENTITY_FILE, 'garbage'], [CREDENTIALS_FILE, '{"account":']]
  for (const [file, content] of cases) {
    writeFileSync(join(stateDir, file), content)
    // Through the runtime, as a storm or a restart would: the .err file gains one line.
    const errFile = run.errFile(peer)
    const before = existsSync(errFile) ? statSync(errFile).size : 0
    await runtime.start(spec)
    await eventually(`${peer} exits on a corrupt ${file}`, 30_000, async () => await runtime.pid(peer) === null ? true : undefined, 100)
    const added = readFileSync(errFile, 'utf8').slice(before)
    const lines = added.trimEnd().split('\n')
    assert.equal(lines.length, 1, `one line for ${file} ${JSON.stringify(content)}, got ${added.length} bytes: ${added.slice(0, 300)}`)
    assert.ok((lines[0] ?? '').includes(join(stateDir, file)), lines[0])
    assert.ok(added.length < 600, `${added.length} bytes`)
    // The exit code, with the same environment the runtime gives it.
    const direct = spawnSync(process.execPath, [...peerNodeFlags(process.env, 'peer'), peerBundle()], { env: { PATH: process.env.PATH ?? '', ...spec.env }, encoding: 'utf8', timeout: 30_000 })
    assert.equal(direct.status, 2, direct.stderr)
    writeFileSync(join(stateDir, file), pristine.get(file) as Buffer)
  }
  // Restored, it boots and comes online again.
  await runtime.start(spec)
  await eventually(`${peer} online again`, 60_000, async () => {
    const s = await cli(runsDir, ['status', '--json'])
    return (JSON.parse(s.stdout) as StatusJson).online === 3 ? true : undefined
  }, 500)

  // A real crash (the state folder is a file: nothing the peer checks for): exit 1, a stack mapped to node/*.ts, no minified source.
  const notDir = join(runsDir, 'not-a-folder')
  writeFileSync(notDir, '')
  const crash = spawnSync(process.execPath, [peerBundle()], { env: { PATH: process.env.PATH ?? '', ...spec.env, PATCHDAY_STATE_DIR: join(notDir, 'state') }, encoding: 'utf8', timeout: 30_000 })
  assert.equal(crash.status, 1, crash.stderr)
  assert.match(crash.stderr, /^patchday peer: crashed: Error: ENOTDIR/)
  assert.match(crash.stderr, /at async startProcess \(.*node\/start\.ts:\d+:\d+\)/)
  assert.ok(crash.stderr.length < 2000 && crash.stderr.split('\n').every(l => l.length < 500), `${crash.stderr.length} bytes`)

  const down = await cli(runsDir, ['down', '--run', runId, '--grace', '3s'])
  assert.equal(down.code, 0, down.stderr)
  assert.deepEqual(await findRunProcesses(runId), [])
})
