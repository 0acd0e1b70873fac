/** Unusable run records (run.json, docker.json): one-line problems, and the runtimes `down` and `status` fall back on. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { z } from 'zod'
import { listRuns, resolveRun, RunDir, type RunMeta } from '../../orchestrator/run/dir.ts'
import { parseRecord } from '../../orchestrator/run/record.ts'
import { openRunRuntimes } from '../../orchestrator/runtime/index.ts'
import { UnreadableRecordError, RunNotFoundError } from '../../orchestrator/errors.ts'
import { readNetworkFile } from '../../orchestrator/network/spec-file.ts'

const meta: RunMeta = { version: 1, runId: 'r1', seed: 's', runtime: 'local', createdAt: '2026-01-01T00:00:00Z', timeScale: 1, peers: [], login: { name: 'login', addr: '/ip4/127.1.0.1/tcp/4000' } }

function withRunsDir (fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'patchday-records-'))
    try {
      await fn(dir)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

test('a record parses, and every kind of bad one is a one-line problem, not an exception', () => {
  const Schema = z.object({ a: z.number() })
  assert.deepEqual(parseRecord('{"a":1}', Schema, 'a thing'), { ok: true, value: { a: 1 } })
  const cases: Array<[string, RegExp]> = [
    ['', /^empty$/], [' \n', /^empty$/], ['garbage{', /^not JSON \("garbage\{"\)$/], ['\u0000\u00ff\n'.repeat(20), /^not JSON \(".*\.\.\.\)$/],
    ['[]', /^not a thing \(value: /], ['{"a":"x"}', /^not a thing \(a: /], ['{"a":1}' + ' '.repeat(100), /^107 bytes, more than a record holds \(100\)$/]
  ]
  for (const [text, want] of cases) {
    const r = parseRecord(text, Schema, 'a thing', 100)
    assert.equal(r.ok, false)
    if (!r.ok) {
      assert.match(r.problem, want)
      assert.ok(!r.problem.includes('\n') && r.problem.length < 200, r.problem)
    }
  }
})

test('readMeta names run.json and what is wrong with it in one line, and says that down still works', withRunsDir(async (dir) => {
  const run = new RunDir(dir, 'r1')
  mkdirSync(run.root)
  assert.deepEqual(await run.readMetaRecord(), { ok: false, problem: 'missing' })
  writeFileSync(run.metaFile, JSON.stringify(meta))
  assert.deepEqual(await run.readMeta(), meta)
  for (const [text, problem] of [['', 'empty'], ['{"version":1', 'not JSON'], ['{"version":2}', 'not a run record']] as const) {
    writeFileSync(run.metaFile, text)
    const err = await run.readMeta().then(() => null, (e: unknown) => e)
    assert.ok(err instanceof UnreadableRecordError, String(err))
    assert.ok(err.message.includes(`${run.metaFile} is ${problem}`), err.message)
    assert.match(err.message, /'patchday down --run r1' still stops everything of it$/)
    assert.ok(!err.message.includes('\n'), err.message)
  }
  rmSync(run.metaFile)
  mkdirSync(run.metaFile) // a folder where the file was
  assert.deepEqual(await run.readMetaRecord(), { ok: false, problem: 'unreadable (EISDIR)' })
}))

test('down finds runs without a run.json that hold another record of a run; other commands do not', withRunsDir(async (dir) => {
  for (const d of ['ok', 'no-meta', 'no-meta-docker', 'sweep-x', '.cache']) mkdirSync(join(dir, d))
  writeFileSync(join(dir, 'ok', 'run.json'), '')
  mkdirSync(join(dir, 'no-meta', 'pids'))
  writeFileSync(join(dir, 'no-meta-docker', 'docker.json'), 'x')
  writeFileSync(join(dir, 'sweep-x', 'sweep.json'), '{}')
  assert.deepEqual(await listRuns(dir), ['ok'])
  assert.deepEqual(await listRuns(dir, { withoutMeta: true }), ['no-meta', 'no-meta-docker', 'ok'])
  assert.equal((await resolveRun(dir, 'ok')).runId, 'ok', 'an empty run.json is still a run')
  await assert.rejects(resolveRun(dir, 'no-meta'), RunNotFoundError)
  assert.equal((await resolveRun(dir, 'no-meta', { withoutMeta: true })).runId, 'no-meta')
  await assert.rejects(resolveRun(dir, 'sweep-x', { withoutMeta: true }), RunNotFoundError)
}))

/** A Docker engine that answers with `labelled` things of every run and no swarm. */
function fakeDocker (labelled: number, swarmServices = 0): Docker {
  const list = async (): Promise<unknown[]> => Array.from({ length: labelled }, () => ({}))
  return {
    info: async () => ({ Swarm: swarmServices > 0 ? { LocalNodeState: 'active', ControlAvailable: true } : { LocalNodeState: 'inactive' } }),
    listServices: async () => Array.from({ length: swarmServices }, () => ({})),
    listContainers: list,
    listNetworks: list,
    listVolumes: async () => ({ Volumes: await list() })
  } as unknown as Docker
}

test('when run.json cannot say the runtime: local always, the container runtimes only where an engine answers and has something of the run', withRunsDir(async (dir) => {
  const run = new RunDir(dir, 'r1')
  mkdirSync(run.root)
  writeFileSync(run.metaFile, JSON.stringify(meta))
  const known = await openRunRuntimes(run, { answers: async () => { throw new Error('not asked when run.json says') } })
  assert.deepEqual([known.runtimes.map(r => r.name), known.unknown], [['local'], null])

  writeFileSync(run.metaFile, 'garbage{')
  const silent = await openRunRuntimes(run, { docker: fakeDocker(3), answers: async () => false })
  assert.deepEqual(silent.runtimes.map(r => r.name), ['local'])
  assert.match(silent.unknown?.problem ?? '', /run\.json is not JSON \("garbage\{"\), so the runtime of run r1 is unknown$/)
  assert.match(silent.unknown?.lookingFor ?? '', /^its processes found by run id \(no Docker engine answers: no containers looked for\)$/)

  const empty = await openRunRuntimes(run, { docker: fakeDocker(0), answers: async () => true })
  assert.deepEqual(empty.runtimes.map(r => r.name), ['local'])
  assert.match(empty.unknown?.lookingFor ?? '', /the Docker engine has nothing labelled patchday\.run=r1$/)

  const labelled = await openRunRuntimes(run, { docker: fakeDocker(2), answers: async () => true })
  assert.deepEqual(labelled.runtimes.map(r => r.name), ['local', 'compose'])
  assert.match(labelled.unknown?.lookingFor ?? '', /and its containers, networks and volumes by the label patchday\.run=r1$/)

  const stack = await openRunRuntimes(run, { docker: fakeDocker(2, 4), answers: async () => true })
  assert.deepEqual(stack.runtimes.map(r => r.name), ['local', 'swarm', 'compose'], 'the stack first: its services would hold the network')

  writeFileSync(join(run.root, 'docker.json'), '')
  const badDocker = await openRunRuntimes(run, { docker: fakeDocker(0), answers: async () => true })
  assert.match(badDocker.unknown?.problem ?? '', /run\.json is not JSON .* and .*docker\.json is empty, so/)

  writeFileSync(join(run.root, 'docker.json'), JSON.stringify({ version: 1, kind: 'compose', project: 'p', label: 'patchday.run=r1', compose: 'v2', composeFile: 'compose.yaml', workingDir: run.root, subnet: '10.213.0.0/20', image: 'i', containers: {}, attached: false, configDir: null }))
  const byDockerJson = await openRunRuntimes(run, { answers: async () => { throw new Error('docker.json says: no need to ask') } })
  assert.deepEqual(byDockerJson.runtimes.map(r => r.name), ['local', 'compose'])

  rmSync(join(run.root, 'docker.json'))
  writeFileSync(run.metaFile, JSON.stringify({ ...meta, runtime: 'kubernetes' }))
  const foreign = await openRunRuntimes(run, { answers: async () => false })
  assert.match(foreign.unknown?.problem ?? '', /run\.json names no known runtime \("kubernetes"\)/)
}))

test('a missing, empty or foreign network.json stops storm and inject with one line naming the file, and says down still works', withRunsDir(async (dir) => {
  const run = new RunDir(dir, 'r1')
  mkdirSync(run.root, { recursive: true })
  await assert.rejects(readNetworkFile(run), (err: unknown) => err instanceof UnreadableRecordError && /network\.json is missing: .*patchday down --run r1/.test(err.message))
  writeFileSync(join(run.root, 'network.json'), '')
  await assert.rejects(readNetworkFile(run), /network\.json is empty/)
  writeFileSync(join(run.root, 'network.json'), '{"version":1,"plan":')
  await assert.rejects(readNetworkFile(run), /network\.json is not JSON/)
  writeFileSync(join(run.root, 'network.json'), '{"version":1,"plan":{"peers":[]},"provisioned":{"loginAddr":"x"},"perPeer":{}}')
  await assert.rejects(readNetworkFile(run), /network\.json is not a network record \(plan\.reserve/)
  writeFileSync(join(run.root, 'network.json'), '{"version":1,"plan":{"peers":[{"name":"p-001"}],"reserve":[]},"provisioned":{"loginAddr":"x"},"perPeer":{}}')
  assert.equal((await readNetworkFile(run)).plan.peers[0]?.name, 'p-001')
}))
