/** The local runtime's bookkeeping as pure functions: pid records, process environments, networks by run, the refusal of a second `up`. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parsePidRecord, PID_RECORD_BYTES_MAX } from '../../orchestrator/runtime/pid-record.ts'
import { parseEnviron, runProcessOf, RUN_DIR_VARIABLE, type RunProcess } from '../../orchestrator/runtime/local-procs.ts'
import { groupLocalNetworks, refusal, downCommandFor } from '../../orchestrator/runtime/local-networks.ts'
import { groupContainerNetworks } from '../../orchestrator/runtime/docker/census.ts'

test('a pid record parses, and every kind of bad one is a problem, not an exception', () => {
  const good = parsePidRecord('p-001', JSON.stringify({ name: 'p-001', pid: 1234, startTicks: '5678' }))
  assert.deepEqual(good, { ok: true, record: { name: 'p-001', pid: 1234, startTicks: '5678' } })
  const bad = ['', '  \n', 'garbage', '{"name":"p-001"', '[]', 'null', '{"name":"p-001","pid":0,"startTicks":"1"}',
    '{"name":"p-001","pid":-5,"startTicks":"1"}', '{"name":"p-001","pid":12,"startTicks":"x"}', '{"name":"p-002","pid":12,"startTicks":"1"}',
    ' '.repeat(PID_RECORD_BYTES_MAX) + '{"name":"p-001","pid":12,"startTicks":"1"}']
  for (const text of bad) {
    const r = parsePidRecord('p-001', text)
    assert.equal(r.ok, false, JSON.stringify(text.slice(0, 50)))
    if (!r.ok) assert.ok(r.problem.length > 0 && r.problem.length < 200)
  }
})

test('a process environment names its run, peer, role and (local runtime) run folder', () => {
  const env = parseEnviron(['PATH=/bin', 'PATCHDAY_RUN_ID=r1', 'PATCHDAY_PEER=p-003', 'PATCHDAY_ROLE=peer', `${RUN_DIR_VARIABLE}=/runs/r1`, 'PATCHDAY_X=a=b', ''].join('\0'))
  assert.equal(env.get('PATH'), undefined)
  assert.equal(env.get('PATCHDAY_X'), 'a=b')
  assert.deepEqual(runProcessOf(7, env), { pid: 7, runId: 'r1', peer: 'p-003', role: 'peer', runDir: '/runs/r1' })
  assert.equal(runProcessOf(7, parseEnviron('PATCHDAY_PEER=p-003\0')), null, 'no run id: not ours')
  assert.equal(runProcessOf(7, parseEnviron('PATCHDAY_RUN_ID=c\0PATCHDAY_PEER=peer-1\0'))?.runDir, null, 'a container process: no run folder')
})

const proc = (pid: number, runId: string, peer: string, runDir: string | null): RunProcess => ({ pid, runId, peer, role: peer === 'login' ? 'login' : 'peer', runDir })

test('processes group into networks by run folder; processes the local runtime did not start are left out', () => {
  const nets = groupLocalNetworks([
    proc(1, 'b', 'login', '/x/b'), proc(2, 'b', 'p-001', '/x/b'), proc(3, 'a', 'p-001', '/y/a'),
    proc(4, 'b', 'p-002', '/x/b'), proc(5, 'c', 'peer-1', null),
    // the same run id in two runs folders: two networks
    proc(6, 'a', 'p-001', '/z/a')
  ])
  assert.deepEqual(nets.map(n => [n.runId, n.runDir, n.processes, n.peers, n.login]), [
    ['a', '/y/a', 1, 1, false],
    ['a', '/z/a', 1, 1, false],
    ['b', '/x/b', 3, 2, true]
  ])
  assert.deepEqual(nets[2]?.pids, [1, 2, 4])
})

test('up is refused over any running local network, naming it and the command that stops it', () => {
  assert.equal(refusal([]), null)
  const [net] = groupLocalNetworks([proc(1, 'first', 'login', '/runs dir/first'), proc(2, 'first', 'p-001', '/runs dir/first')])
  assert.ok(net !== undefined)
  const err = refusal([net])
  assert.equal(err?.name, 'NetworkRunningError')
  assert.equal(err?.exitCode, 2)
  assert.ok(err?.message.includes('first') && err.message.includes(downCommandFor(net)))
  assert.equal(downCommandFor(net), "patchday --runs-dir '/runs dir' down --run first")
  assert.equal(downCommandFor({ runId: 'x', runDir: "/it's/x" }), "patchday --runs-dir '/it'\\''s' down --run x")
})

test('containers group by their run label', () => {
  const nets = groupContainerNetworks([
    { Labels: { 'patchday.run': 'r', 'patchday.role': 'login', 'com.docker.compose.project.working_dir': '/runs/r' } },
    { Labels: { 'patchday.run': 'r', 'patchday.role': 'peer' } },
    { Labels: { 'patchday.run': 's', 'patchday.role': 'supernode', 'com.docker.stack.namespace': 'pd-s' } },
    { Labels: { other: 'x' } }
  ])
  assert.deepEqual(nets, [
    { runId: 'r', runtime: 'compose', runDir: '/runs/r', processes: 2, peers: 1, login: true },
    { runId: 's', runtime: 'swarm', runDir: null, processes: 1, peers: 1, login: false }
  ])
})
