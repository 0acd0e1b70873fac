/**
 * Injection against a fake runtime: a run with a provisioned reserve starts from
 * it (and says when it is used up); a run adopted without one (an attached
 * compose project) has its runtime add copies of a running peer, which join the
 * reserve under its names and are started with the dedicated supernode's settings.
 * Also the pure parts of the copy (docker/clone.ts): environment and replica names.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RunDir } from '../../orchestrator/run/dir.ts'
import { injectSupernodes } from '../../orchestrator/network/inject.ts'
import { readNetworkFile, writeNetworkFile, type NetworkFile } from '../../orchestrator/network/spec-file.ts'
import { planNetwork } from '../../orchestrator/network/plan.ts'
import type { Endpoint, ProcessSpec, ProcessStatus, Runtime } from '../../orchestrator/runtime/runtime.ts'
import type { Journal } from '../../orchestrator/run/journal.ts'
import { UsageError } from '../../orchestrator/errors.ts'
import { mergeEnv, replicaName } from '../../orchestrator/runtime/docker/clone.ts'

interface Fake { runtime: Runtime, started: ProcessSpec[], added: Array<{ name: string, like: string, env: Record<string, string> }>, events: Array<{ ev: string, fields: unknown }>, journal: Journal }

function fake (running: string[], canAdd: boolean | null): Fake {
  const started: ProcessSpec[] = []
  const added: Fake['added'] = []
  const events: Fake['events'] = []
  const endpoint = (): Endpoint => ({ listenHost: '127.0.0.1', dialHost: '127.0.0.1', port: 4001 })
  const runtime = {
    name: 'compose',
    secrets: 'lab-secret',
    restartMode: 'container',
    endpoint,
    wiring: () => ({}),
    prepare: async () => {},
    start: async (spec: ProcessSpec) => { started.push(spec) },
    stop: async () => 'stopped' as const,
    kill: async () => 'killed' as const,
    list: async (): Promise<ProcessStatus[]> => running.map(name => ({ name, running: true })),
    syncLogs: async () => {},
    collectLogs: async () => {},
    explainExit: async () => '',
    teardown: async () => ({ stopped: 0, killed: 0, strays: 0, removed: 0 }),
    ...(canAdd === null ? {} : { addLike: async (name: string, like: string, env: Record<string, string>) => { if (canAdd) added.push({ name, like, env }); return canAdd } })
  } satisfies Runtime
  const journal = { event: (ev: string, fields: unknown) => { events.push({ ev, fields }) } } as unknown as Journal
  return { runtime, started, added, events, journal }
}

async function withRun (reserve: number, fn: (run: RunDir, n: NetworkFile) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'patchday-inject-'))
  try {
    const run = new RunDir(dir, 'r1')
    await run.create()
    const plan = planNetwork({ peers: 6, seed: 's', bootstrap: 1, reserve, settings: { slotsMax: 10 } })
    const n: NetworkFile = { version: 1, plan, provisioned: { loginAddr: '/ip4/10.0.0.2/tcp/4000/p2p/x', bootstrapAddrs: [], labSecret: 'lab' }, perPeer: {} }
    await writeNetworkFile(run, n)
    await fn(run, n)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('a provisioned reserve is used first, and its end is a clear error', async () => {
  await withRun(2, async (run, n) => {
    const f = fake(n.plan.peers.map(p => p.name), false)
    assert.deepEqual(await injectSupernodes(run, f.runtime, f.journal, 2, 50), ['mega-01', 'mega-02'])
    assert.deepEqual(f.started.map(s => s.name), ['mega-01', 'mega-02'])
    assert.equal(f.started[0]?.env.PATCHDAY_SLOTS_MAX, '50')
    assert.equal(f.added.length, 0)
    await assert.rejects(injectSupernodes(run, f.runtime, f.journal, 1, 50), (err: unknown) => err instanceof UsageError && /only 0 dedicated supernodes left/.test(err.message))
  })
})

test('a network with no reserve gets copies of a running peer, recorded as its reserve', async () => {
  await withRun(0, async (run, n) => {
    const client = n.plan.peers.find(p => !p.bootstrap)
    assert.ok(client !== undefined)
    const f = fake(n.plan.peers.map(p => p.name), true)
    assert.deepEqual(await injectSupernodes(run, f.runtime, f.journal, 2, 40), ['mega-01', 'mega-02'])
    assert.deepEqual(f.added.map(a => a.name), ['mega-01', 'mega-02'])
    for (const a of f.added) {
      assert.equal(a.like, client.name, 'copied from a running client, not a bootstrap supernode')
      assert.equal(a.env.PATCHDAY_BOOTSTRAP, 'true')
      assert.equal(a.env.PATCHDAY_CAPACITY_CLASS, '3')
      assert.equal(a.env.PATCHDAY_SLOTS_MAX, '40')
      assert.equal(a.env.PATCHDAY_SN_OVERLOAD_THRESHOLD, '0')
    }
    const after = await readNetworkFile(run)
    assert.deepEqual(after.plan.reserve.map(p => p.name), ['mega-01', 'mega-02'])
    assert.equal(after.perPeer['mega-02']?.slotsMax, 40)
    assert.deepEqual(f.started.map(s => s.name), ['mega-01', 'mega-02'])
    assert.deepEqual(f.events.map(e => e.ev), ['inject'])
    // A second injection adds the next names; it never reuses a started one.
    const f2 = fake([...n.plan.peers.map(p => p.name), 'mega-01', 'mega-02'], true)
    assert.deepEqual(await injectSupernodes(run, f2.runtime, f2.journal, 1, 40), ['mega-03'])
  })
})

test('a runtime that cannot add (a run with a provisioned reserve, or nothing running to copy) leaves the reserve as it is', async () => {
  await withRun(0, async (run, n) => {
    const f = fake(n.plan.peers.map(p => p.name), false)
    await assert.rejects(injectSupernodes(run, f.runtime, f.journal, 1, 40), /only 0 dedicated supernodes left/)
    const none = fake([], true)
    await assert.rejects(injectSupernodes(run, none.runtime, none.journal, 1, 40), /only 0 dedicated supernodes left/)
    assert.equal(none.added.length, 0)
    assert.deepEqual((await readNetworkFile(run)).plan.reserve, [])
  })
})

test('a copy keeps its environment with the new entries laid over, and takes Compose\'s replica name', () => {
  assert.deepEqual(mergeEnv(['A=1', 'B=x=y', 'PATH=/bin'], { B: '2', C: '3' }), ['A=1', 'B=2', 'PATH=/bin', 'C=3'])
  assert.equal(replicaName('proj', 'peer', 11, 'v1'), 'proj_peer_11')
  assert.equal(replicaName('proj', 'peer', 11, 'v2'), 'proj-peer-11')
})
